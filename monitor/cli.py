"""`flightdelay-monitor`: join predictions with outcomes and report each model online, until SIGTERM/SIGINT;
`flightdelay-monitor report`: the HTML page of the models online and the input drift."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from confluent_kafka import KafkaException
from rich.markup import escape

from kafka_common.cli_support import kafka_logger, wait_for_broker
from kafka_common.console import command_app, output_console
from kafka_common.settings import TopicSettings
from monitor.app import monitor
from monitor.report_page import render
from monitor.report_source import gather
from monitor.settings import MonitorSettings
from stream_runtime.service import run_service, service_settings, settings_or_exit

log = logging.getLogger("monitor")
app = command_app(
    help="Watch the models online. Configured by environment variables (see README).", add_completion=False
)


@app.callback(invoke_without_command=True)
def main(context: typer.Context) -> None:
    """Without a command: run one monitor instance until SIGTERM/SIGINT."""
    if context.invoked_subcommand is None:
        run()


@app.command()
def run() -> None:
    """Join predictions (and shadow predictions) with outcomes; write joined records and figures."""
    settings, kafka = service_settings(MonitorSettings, log)
    topics = settings_or_exit(TopicSettings, log)
    raise typer.Exit(run_service(monitor(settings, kafka, topics), settings.shutdown_timeout_s, log))


@app.command()
def report(
    out: Annotated[Path, typer.Option(dir_okay=False, help="the HTML page to write")] = Path(
        "build/monitor-report.html"
    ),
    timeout_s: Annotated[float, typer.Option(min=0.1, help="longest wait for the broker per topic read")] = 120,
) -> None:
    """Write an HTML page of each version's online figures and the input drift, from the topics as they are now."""
    settings, kafka = service_settings(MonitorSettings, log)
    topics = settings_or_exit(TopicSettings, log)
    console = output_console(stderr=True)
    try:  # before the topics are read: a page that cannot be written is said at once, not after minutes
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise typer.BadParameter(f"cannot make its folder {out.parent}: {exc.strerror}", param_hint="--out") from None
    with console.status("reading the topics") as status:
        client = {**kafka.client_config(), "logger": kafka_logger()}
        try:
            wait_for_broker(client, timeout_s, console)
            inputs = gather(client, settings, topics, timeout_s, lambda text: status.update(text))
        except KafkaException as exc:
            console.print(f"[red]cannot read the topics at {client['bootstrap.servers']}: {exc.args[0].str()}[/]")
            raise typer.Exit(1) from None
        status.update("drawing the figures")
        page = render(inputs)
    out.write_text(page, encoding="utf-8")
    joined = sum(len(rows) for rows in inputs.models.values())
    said = written(out, joined, len(inputs.models), inputs.flights, topics.outcomes, inputs.champion is not None)
    console.print(escape(said))


def written(out: Path, joined: int, versions: int, flights: int, outcomes_topic: str, champion_known: bool) -> str:
    """The line that says what the page holds, and why a part of it is empty."""
    line = f"{out}: {joined:,} joined predictions of {versions} {'version' if versions == 1 else 'versions'}, "
    line += f"{flights:,} flights"
    if not joined:
        line += f" (a prediction is joined once its flight's outcome is on {outcomes_topic}; the online figures wait)"
    if not champion_known:
        line += (
            "; no drift or offline figures: no champion known (from the control topic, else MONITOR_MODEL_URI, "
            "else the running scorers)"
        )
    return line
