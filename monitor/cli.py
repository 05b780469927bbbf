"""`flightdelay-monitor`: join predictions with outcomes and report each model online, until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
from types import FrameType

import typer

from consumer.service import service_settings
from monitor.app import MonitorApp
from monitor.settings import MonitorSettings

log = logging.getLogger("monitor")
app = typer.Typer(
    help="Watch the models online. Configured by environment variables (see README).", add_completion=False
)


@app.command()
def run() -> None:
    """Join predictions (and shadow predictions) with outcomes; write joined records and figures."""
    settings, kafka, topics = service_settings(MonitorSettings, log)
    monitor = MonitorApp(settings, kafka, topics)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the batch in flight", signal.Signals(signum).name)
        monitor.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    raise typer.Exit(monitor.run())
