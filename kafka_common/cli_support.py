"""What every command-line tool needs to reach the broker: the `--bootstrap` option and settings read with
one-line errors (exit 2) instead of tracebacks."""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Any

import typer
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from rich.console import Console
from rich.markup import escape

from stream_runtime.broker_wait import await_broker
from stream_runtime.logs import RepeatFilter
from stream_runtime.settings import KafkaSettings, S, SettingsError, read_settings

Bootstrap = Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="host:port list")]
Timeout = Annotated[
    float, typer.Option("--timeout-s", min=0.1, help="longest wait for the broker's answer, per read or write")
]


def settings_or_exit(kind: type[S], console: Console) -> S:
    """Settings from the environment; a bad value is a one-line error naming its variable (exit 2)."""
    try:
        return read_settings(kind)
    except SettingsError as exc:
        console.print(f"[red]invalid configuration: {exc}[/]")
        raise typer.Exit(2) from None


def client_config_or_exit(bootstrap: str, console: Console) -> dict[str, Any]:
    """The clients' configuration; their own reports go to `kafka_logger`."""
    if not bootstrap:
        console.print("[red]no broker: set KAFKA_BOOTSTRAP_SERVERS or pass --bootstrap[/]")
        raise typer.Exit(2)
    return {**settings_or_exit(KafkaSettings, console).client_config(bootstrap), "logger": kafka_logger()}


def wait_for_broker(config: dict[str, Any], timeout_s: float, console: Console) -> AdminClient:
    """An admin client once the broker answers; the client's KafkaException when it has not within `timeout_s`.
    Asked in turns of a second, so that the client's reason (`kafka: ...`) is on the screen at once, and a line
    says how long the tool will wait."""
    admin = AdminClient(config)
    error = await_broker(
        admin,
        timeout_s,
        turn_s=1.0,
        waiting=lambda: console.print(
            escape(f"waiting for the broker at {config.get('bootstrap.servers')} (at most {timeout_s:g} s)")
        ),
    )
    if error is not None:
        raise error
    return admin


def broker_or_exit(config: dict[str, Any], timeout_s: float, console: Console) -> AdminClient:
    """`wait_for_broker`, or the one line that says the broker did not answer and exit 1."""
    try:
        return wait_for_broker(config, timeout_s, console)
    except KafkaException as exc:
        console.print(f"[red]cannot reach the broker at {config.get('bootstrap.servers')}[/]: {exc.args[0].str()}")
        raise typer.Exit(1) from None


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a line comes (a test runner swaps it per command)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class _KafkaLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        repeated = getattr(record, "repeated", 0)
        return f"kafka: {record.getMessage()}" + (f" ({repeated} more like it left out)" if repeated else "")


def kafka_logger() -> logging.Logger:
    """librdkafka's reports for a person at a terminal: warnings and errors, each at most once in 5 s with the
    count of those left out, since a broker that is away is reported many times a second (hundreds of lines
    before a tool's own one-line answer)."""
    logger = logging.getLogger("flightdelay.cli.kafka")
    if not logger.handlers:
        handler = _CurrentStderr()
        handler.setFormatter(_KafkaLine())
        handler.addFilter(RepeatFilter())
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False
    return logger
