"""`flightdelay-kafka topics`: create the scorer's topics (the local broker's commands join it in `local_stack.cli`)."""

from __future__ import annotations

from typing import Any

import typer
from confluent_kafka import KafkaException
from rich.table import Table

from kafka_common.cli_support import kafka_logger, wait_for_broker
from kafka_common.console import command_app, output_console
from kafka_common.settings import TopicSettings
from kafka_common.topics import TopicStatus, ensure_topics, topic_specs
from stream_runtime.settings import KafkaSettings, SettingsError, read_settings

app = command_app(help="Kafka plumbing for the flight-delay scorer.", no_args_is_help=True)
console = output_console()  # results (the topic table, the broker address) to stdout
errors = output_console(stderr=True)

EXIT_TOPICS_DIFFER = 3


@app.callback()
def commands() -> None:
    """Kafka plumbing for the flight-delay scorer."""  # a group even where only `topics` is registered


def create_topics(
    bootstrap_servers: str, kafka: KafkaSettings, topics: TopicSettings, timeout_s: float = 30.0
) -> list[TopicStatus]:
    """Ensure the topics exist and print a table of what was done; a broker that does not answer within
    `timeout_s`, or refuses, is a one-line error (exit 1)."""
    config: dict[str, Any] = {**kafka.client_config(bootstrap_servers), "logger": kafka_logger()}
    try:
        statuses = ensure_topics(wait_for_broker(config, timeout_s, errors), topic_specs(topics), timeout_s)
    except KafkaException as exc:
        errors.print(f"[red]cannot create the topics on {bootstrap_servers}: {exc.args[0].str()}[/]")
        raise typer.Exit(1) from None
    table = Table(title=f"topics on {bootstrap_servers}")
    for column in ("topic", "state", "differences from configuration"):
        table.add_column(column)
    for status in statuses:
        colour = {"created": "green", "unchanged": "blue", "differs": "red"}[status.state]
        table.add_row(status.name, f"[{colour}]{status.state}[/]", "; ".join(status.differences))
    console.print(table)
    return statuses


def read_topic_settings() -> tuple[KafkaSettings, TopicSettings]:
    try:
        return read_settings(KafkaSettings), read_settings(TopicSettings)
    except SettingsError as exc:
        errors.print(f"[red]invalid configuration: {exc}[/]")
        raise typer.Exit(2) from None


@app.command()
def topics(
    bootstrap_servers: str = typer.Option(
        "", "--bootstrap", "--bootstrap-servers", envvar="KAFKA_BOOTSTRAP_SERVERS", help="host:port list"
    ),
    timeout_s: float = typer.Option(30.0, "--timeout-s", min=0.1, help="longest wait for the broker's answer"),
) -> None:
    """Create every topic the services use (idempotent; reports drift, exit 3 if any)."""
    if not bootstrap_servers:
        errors.print("[red]no broker: set KAFKA_BOOTSTRAP_SERVERS or pass --bootstrap[/]")
        raise typer.Exit(2)
    statuses = create_topics(bootstrap_servers, *read_topic_settings(), timeout_s)
    if any(s.state == "differs" for s in statuses):
        errors.print("[red]existing topics differ from the configuration; they were left unchanged[/]")
        raise typer.Exit(EXIT_TOPICS_DIFFER)
