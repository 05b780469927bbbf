"""`flightdelay-kafka`: run the local broker and create the scorer's topics."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

import typer
from confluent_kafka.admin import AdminClient
from rich.table import Table

from kafka_common.console import command_app, output_console
from kafka_common.local_broker import LocalKafkaBroker, kafka_version
from kafka_common.settings import TopicSettings
from kafka_common.topics import TopicStatus, ensure_topics, topic_specs
from stream_runtime.settings import KafkaSettings, SettingsError, read_settings

app = command_app(help="Kafka plumbing for the flight-delay scorer.", no_args_is_help=True)
console = output_console()  # results (the topic table, the broker address) to stdout
errors = output_console(stderr=True)

EXIT_TOPICS_DIFFER = 3


@app.command()
def broker() -> None:
    """Run a local Apache Kafka broker (KRaft) in the foreground until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with console.status(f"starting Apache Kafka {kafka_version()} (first run downloads it with Maven)…"):
        local = LocalKafkaBroker().start()
    try:
        console.print(f"[green]Kafka {kafka_version()} is up[/] at [bold]{local.bootstrap_servers}[/]")
        console.print(f"export KAFKA_BOOTSTRAP_SERVERS={local.bootstrap_servers}   # in another shell")
        console.print(f"broker log: {local.log_path}; press Ctrl-C to stop")
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    finally:
        local.close()
        console.print("Kafka stopped, data removed")


def create_topics(bootstrap_servers: str, kafka: KafkaSettings, topics: TopicSettings) -> list[TopicStatus]:
    """Ensure the three topics exist and print a table of what was done."""
    admin = AdminClient(kafka.client_config(bootstrap_servers))
    statuses = ensure_topics(admin, topic_specs(topics))
    table = Table(title=f"topics on {bootstrap_servers}")
    for column in ("topic", "state", "differences from configuration"):
        table.add_column(column)
    for status in statuses:
        colour = {"created": "green", "unchanged": "blue", "differs": "red"}[status.state]
        table.add_row(status.name, f"[{colour}]{status.state}[/]", "; ".join(status.differences))
    console.print(table)
    return statuses


def _settings() -> tuple[KafkaSettings, TopicSettings]:
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
) -> None:
    """Create the input, prediction and dead-letter topics (idempotent; reports drift, exit 3 if any)."""
    if not bootstrap_servers:
        errors.print("[red]no broker: set KAFKA_BOOTSTRAP_SERVERS or pass --bootstrap[/]")
        raise typer.Exit(2)
    statuses = create_topics(bootstrap_servers, *_settings())
    if any(s.state == "differs" for s in statuses):
        errors.print("[red]existing topics differ from the configuration; they were left unchanged[/]")
        raise typer.Exit(EXIT_TOPICS_DIFFER)


@app.command()
def up() -> None:
    """Start a broker (unless KAFKA_BOOTSTRAP_SERVERS is set), create the topics, report, stop."""
    from kafka_common.provider import kafka_broker  # lazy: pulls in Docker detection

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    kafka, topic_settings = _settings()
    starting = console.status("starting the broker (first run downloads Kafka with Maven)…")
    with starting, kafka_broker(kafka) as endpoint:
        console.print(f"[green]broker ({endpoint.kind})[/] at {endpoint.bootstrap_servers}")
        statuses = create_topics(endpoint.bootstrap_servers, kafka, topic_settings)
    console.print("broker stopped" if endpoint.kind != "external" else "left the external broker running")
    if any(s.state == "differs" for s in statuses):
        raise typer.Exit(EXIT_TOPICS_DIFFER)
