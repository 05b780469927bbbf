"""`flightdelay-monitor`: join predictions with outcomes and report each model online, until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
from types import FrameType

import typer

from consumer.exits import ExitCode
from consumer.logs import configure_json_logging
from kafka_common.settings import KafkaSettings, SettingsError, TopicSettings, read_settings
from monitor.app import MonitorApp
from monitor.settings import MonitorSettings

log = logging.getLogger("monitor")
app = typer.Typer(
    help="Watch the models online. Configured by environment variables (see README).", add_completion=False
)


@app.command()
def run() -> None:
    """Join predictions (and shadow predictions) with outcomes; write joined records and figures."""
    try:
        settings, kafka, topics = (
            read_settings(MonitorSettings),
            read_settings(KafkaSettings),
            read_settings(TopicSettings),
        )
    except SettingsError as exc:
        configure_json_logging()
        log.error("invalid configuration: %s", exc)
        raise typer.Exit(ExitCode.CONFIG) from None
    configure_json_logging(settings.log_level)
    if not kafka.bootstrap_servers:
        log.error("KAFKA_BOOTSTRAP_SERVERS is not set")
        raise typer.Exit(ExitCode.CONFIG)
    monitor = MonitorApp(settings, kafka, topics)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the batch in flight", signal.Signals(signum).name)
        monitor.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    raise typer.Exit(monitor.run())
