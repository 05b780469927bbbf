"""What the shipping tests compare files against: the project's real settings, commands and tools."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import typer
from pydantic_settings import BaseSettings

from consumer.settings import ScorerSettings
from kafka_common.settings import TopicSettings
from monitor.settings import MonitorSettings
from stream_runtime.settings import KafkaSettings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS: tuple[type[BaseSettings], ...] = (KafkaSettings, TopicSettings, ScorerSettings, MonitorSettings)


def environment_variables() -> set[str]:
    """Every variable the project's settings read (prefix + field name, or the field's alias)."""
    names: set[str] = set()
    for settings in SETTINGS:
        prefix = str(settings.model_config.get("env_prefix", ""))
        for field_name, field in settings.model_fields.items():
            alias = field.validation_alias
            names.add(alias if isinstance(alias, str) else f"{prefix}{field_name}".upper())
    return names


def console_scripts() -> dict[str, str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return dict(pyproject["project"]["scripts"])


def cli_command(argv: list[str]) -> Any:
    """The click command an argv runs (script, then subcommand), failing on unknown scripts or subcommands."""
    scripts = console_scripts()
    assert argv[0] in scripts, f"{argv[0]!r} is not a console script of this project ({sorted(scripts)})"
    module_name, attribute = scripts[argv[0]].split(":")
    __import__(module_name)
    app = getattr(sys.modules[module_name], attribute)
    command = typer.main.get_command(app)
    if hasattr(command, "commands"):  # a group (typer ships its own click, so no isinstance check)
        if len(argv) == 1 and getattr(command, "invoke_without_command", False):
            return command  # the group's own default: `flightdelay-monitor` runs a monitor
        assert len(argv) > 1 and argv[1] in command.commands, f"{argv[:2]} names no subcommand of {argv[0]}"
        return command.commands[argv[1]]
    return command


def option_names(command: Any) -> set[str]:
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)}


def tool(name: str) -> str:
    """A linter binary from the virtualenv (`make tools` builds the Go ones)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is not installed: run `make tools` (or `make test`, which does)"
    return found


def run_tool(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool(argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
