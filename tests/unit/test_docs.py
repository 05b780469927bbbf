"""The docs work when followed: every link to a file of the repository lands on it (and on its heading), and every
project command they show is one its program accepts (its subcommand and options as written)."""

from __future__ import annotations

import importlib
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

from tests.support.docs import anchors, console_scripts, documented_commands, documents, relative_links
from tests.support.packages import ROOT
from tests.support.shipping import environment_variables

SETTING_NAME = re.compile(r"\b((?:KAFKA|TOPIC|SCORER|MONITOR)_[A-Z0-9_]+|MODEL_URI)\b")


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


def parsed_as_run(program: Any, args: list[str], name: str) -> None:
    """Parse a command line as the program would run it, down to its subcommand, without running it: an unknown
    subcommand, a missing argument, a surplus one or a bad value raises typer's usage error. (No page passes
    options to a program's group itself.)"""
    while isinstance(program, TyperGroup) and args:
        name, args = args[0], args[1:]
        if (program := program.commands.get(name)) is None:
            raise UsageError(f"No such command {name!r}.")
    if not isinstance(program, TyperGroup):  # a group alone, without a subcommand, shows its commands
        program.make_context(name, list(args))


def test_every_documented_command_is_one_its_program_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    """A line of a fenced block parsed whole, as a reader who copies it runs it (a missing or surplus argument
    fails); inline code, which may name a command without its arguments, with `--help` added: a renamed
    subcommand or option fails here, not in a reader's shell."""
    shown = [found for page in documents() for found in documented_commands(page)]
    assert len(shown) >= 60 and {found.script for found in shown} == set(console_scripts()), "the collection works"
    assert sum(found.copied for found in shown) >= 12, "the fenced lines are told apart"
    refused = []
    for found in shown:
        try:
            if found.copied:
                parsed_as_run(command(found.script), found.args, found.script)
                continue
            code = command(found.script).main([*found.args, "--help"], prog_name=found.script, standalone_mode=False)
        except typer.TyperException as exc:  # the usage errors of typer's click
            refused.append(f"{found.where}: {found.script} {' '.join(found.args)}: {exc}")
        else:
            if code not in (0, None):
                refused.append(f"{found.where}: {found.script} {' '.join(found.args)}: exit {code}")
    capsys.readouterr()
    assert refused == []


# Names shaped like a setting that are not one: the compose file's Kafka image and a placeholder of the deploy
# guide's `aws ecs run-task` line.
NOT_SETTINGS = {"KAFKA_IMAGE", "SCORER_SG_ID"}


def test_every_setting_the_docs_name_is_one_the_services_read() -> None:
    """A renamed or removed variable left in the prose would be set by a reader and silently ignored."""
    known = environment_variables() | NOT_SETTINGS
    unknown = [
        f"{page.relative_to(ROOT)}:{number}: {name}"
        for page in documents()
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        for name in SETTING_NAME.findall(line)
        if name not in known
    ]
    assert unknown == []
