"""`flightdelay-scorer`: run one scorer instance until SIGTERM/SIGINT (exit 0) or a failure (non-zero)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

import typer

from consumer.app import ScorerApp
from consumer.exits import ExitCode
from consumer.service import service_settings
from consumer.settings import ScorerSettings
from kafka_common.console import command_app

log = logging.getLogger("consumer")

app = command_app(
    help="Score flight events from Kafka. Configured by environment variables (see README).", add_completion=False
)


@app.command()
def run() -> None:
    """Consume, validate, score and publish until stopped."""
    settings, kafka, topics = service_settings(ScorerSettings, log)
    scorer = ScorerApp(settings, kafka, topics)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: draining", signal.Signals(signum).name)
        scorer.request_stop()
        watchdog = threading.Timer(settings.shutdown_timeout_s, _give_up, args=(settings.shutdown_timeout_s,))
        watchdog.daemon = True
        watchdog.start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    raise typer.Exit(scorer.run())


def _give_up(timeout_s: float) -> None:
    log.error("shutdown took longer than %.0f s; exiting without a clean close", timeout_s)
    logging.shutdown()
    os._exit(ExitCode.SHUTDOWN_TIMEOUT)
