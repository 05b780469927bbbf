"""What every command-line tool needs to reach the broker: the `--bootstrap` option and settings read with
one-line errors (exit 2) instead of tracebacks."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from stream_runtime.settings import KafkaSettings, S, SettingsError, read_settings

Bootstrap = Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="host:port list")]


def settings_or_exit(kind: type[S], console: Console) -> S:
    """Settings from the environment; a bad value is a one-line error naming its variable (exit 2)."""
    try:
        return read_settings(kind)
    except SettingsError as exc:
        console.print(f"[red]invalid configuration: {exc}[/]")
        raise typer.Exit(2) from None


def client_config_or_exit(bootstrap: str, console: Console) -> dict[str, Any]:
    if not bootstrap:
        console.print("[red]no broker: set KAFKA_BOOTSTRAP_SERVERS or pass --bootstrap[/]")
        raise typer.Exit(2)
    return settings_or_exit(KafkaSettings, console).client_config(bootstrap)
