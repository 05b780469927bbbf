"""`flightdelay-kafka`: the topics command of `kafka_common.cli`, plus a local broker to run them against."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

import typer

from kafka_common.cli import EXIT_TOPICS_DIFFER, app, console, create_topics, read_topic_settings
from local_stack import broker_jars
from local_stack.broker import LocalKafkaBroker, default_cache_dir, kafka_version
from local_stack.provider import kafka_broker


@app.command()
def broker() -> None:
    """Run a local Apache Kafka broker (KRaft) in the foreground until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with console.status(f"starting Apache Kafka {kafka_version()} (the first run fetches its jars)…"):
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


@app.command()
def up() -> None:
    """Start a broker (unless KAFKA_BOOTSTRAP_SERVERS is set), create the topics, report, stop."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    kafka, topic_settings = read_topic_settings()
    starting = console.status("starting the broker (the first run fetches Kafka's jars)…")
    with starting, kafka_broker(kafka) as endpoint:
        console.print(f"[green]broker ({endpoint.kind})[/] at {endpoint.bootstrap_servers}")
        statuses = create_topics(endpoint.bootstrap_servers, kafka, topic_settings)
    console.print("broker stopped" if endpoint.kind != "external" else "left the external broker running")
    if any(s.state == "differs" for s in statuses):
        raise typer.Exit(EXIT_TOPICS_DIFFER)


@app.command()
def lock() -> None:
    """Resolve the broker POM with Maven and rewrite the jar lock beside it (after changing the POM; needs mvn)."""
    with console.status("resolving the broker POM with Maven…"):
        written = broker_jars.write_lock(default_cache_dir() / "m2")
    console.print(f"wrote {written} ({len(broker_jars.locked_jars())} jars)")
