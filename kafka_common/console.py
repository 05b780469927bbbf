"""The consoles the command-line tools print with: what they print must not depend on the terminal's width.

A log, a pipe or a test has no terminal, and rich would then wrap every line at `COLUMNS` (80 where it is unset)
and cut tables to fit, so the same command printed different lines in a shell and in CI. Off a terminal,
lines are never wrapped and a table takes the width its cells need; in a terminal rich follows its width.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
from typer.core import MarkupMode

UNBOUNDED = 10_000  # columns off a terminal: wider than any line or table the tools print


def output_console(stderr: bool = False) -> Console:
    """A console for results (stdout) or for progress and errors (`stderr=True`)."""
    console = Console(stderr=stderr, soft_wrap=True)
    if not console.is_terminal:
        console.width = UNBOUNDED
    return console


def command_app(**options: Any) -> typer.Typer:
    """A typer application whose usage errors are plain lines off a terminal: typer's rich panels wrap their text
    at the console's width, so a test or a script reading `Invalid value ...` would see it cut in two."""
    markup: MarkupMode = "rich" if sys.stderr.isatty() else None
    return typer.Typer(rich_markup_mode=markup, **options)


def progress_bar(console: Console, *columns: str | ProgressColumn) -> Progress:
    """A bar that goes when its work ends, drawn on a terminal only: off one (a log, CI) rich shows nothing until
    the end and then leaves an empty line."""
    return Progress(*columns, console=console, transient=True, disable=not console.is_terminal)


@contextmanager
def step_progress(console: Console, total: int) -> Iterator[Callable[[str], None]]:
    """Progress through `total` named steps of a long job: a bar on a terminal; off one (a log, CI) a line a step,
    since a bar shows nothing there until it ends and then leaves an empty line."""
    if console.is_terminal:
        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
        with progress_bar(console, *columns, TimeElapsedColumn()) as progress:
            task = progress.add_task("starting", total=total)
            yield lambda description: progress.update(task, description=description, advance=1)
        return
    started = time.monotonic()
    done = 0

    def step(description: str) -> None:
        nonlocal done
        done += 1
        console.print(f"[{done}/{total}, {time.monotonic() - started:.0f} s] {description}", markup=False)

    yield step
