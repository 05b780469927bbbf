"""`flightdelay-scorer`: run one scorer instance until SIGTERM/SIGINT (exit 0) or a failure (non-zero)."""

from __future__ import annotations

import logging

import typer

from consumer.app import scorer
from consumer.settings import ScorerSettings
from kafka_common.console import command_app
from kafka_common.settings import TopicSettings
from stream_runtime.service import run_service, service_settings, settings_or_exit

log = logging.getLogger("consumer")

app = command_app(
    help="Score flight events from Kafka. Configured by environment variables (see README).", add_completion=False
)


@app.command()
def run() -> None:
    """Consume, validate, score and publish until stopped."""
    settings, kafka = service_settings(ScorerSettings, log)
    topics = settings_or_exit(TopicSettings, log)
    raise typer.Exit(run_service(scorer(settings, kafka, topics), settings.shutdown_timeout_s, log))
