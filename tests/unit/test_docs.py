"""The docs work when followed: every link to a file of the repository lands on it (and on its heading), and every
project command they show is one its program accepts (its subcommand and options as written)."""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer

from tests.support.docs import anchors, console_scripts, documented_commands, documents, relative_links
from tests.support.packages import ROOT


@pytest.mark.parametrize("page", documents(), ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_lands_on_a_file_and_its_heading(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path, _, heading = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif heading and linked.suffix == ".md" and heading not in anchors(linked):
            broken.append(f"{target}: no such heading in {linked.relative_to(ROOT)}")
    assert broken == []


@cache
def command(script: str) -> Any:
    """The program as its console script runs it (typer's own click command)."""
    module, _, attribute = console_scripts()[script].partition(":")
    app: typer.Typer = getattr(importlib.import_module(module), attribute)
    return typer.main.get_command(app)


def test_every_documented_command_is_one_its_program_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    """Parsed as the program parses it, `--help` added: a renamed subcommand or option fails here, not in a
    reader's shell."""
    shown = [found for page in documents() for found in documented_commands(page)]
    assert len(shown) >= 60 and {found.script for found in shown} == set(console_scripts()), "the collection works"
    refused = []
    for found in shown:
        try:
            code = command(found.script).main([*found.args, "--help"], prog_name=found.script, standalone_mode=False)
        except typer.TyperException as exc:  # the usage errors of typer's click
            refused.append(f"{found.where}: {found.script} {' '.join(found.args)}: {exc}")
        else:
            if code not in (0, None):
                refused.append(f"{found.where}: {found.script} {' '.join(found.args)}: exit {code}")
    capsys.readouterr()
    assert refused == []
