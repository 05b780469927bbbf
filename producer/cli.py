"""`flightdelay-producer`: replay the dataset as flight events, watch predictions, or run the whole demo."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from confluent_kafka import Producer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from kafka_common.cli_support import Bootstrap, client_config_or_exit, settings_or_exit
from kafka_common.settings import KafkaSettings, S, TopicSettings
from producer.replay import EventFormat, Scheduled, dataset_events, dataset_flights, publish_schedule, with_outcomes
from producer.watch import watch as watch_predictions

app = typer.Typer(help="Publish flight events and watch delay predictions.", no_args_is_help=True, add_completion=False)
console = Console()
if not console.is_terminal:  # logs and pipes: keep table rows on one line
    console.width = 150


def _config(bootstrap: str) -> dict[str, object]:
    return client_config_or_exit(bootstrap, console)


def _read(kind: type[S]) -> S:
    return settings_or_exit(kind, console)


def _day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date as YYYY-MM-DD", param_hint=option) from None


@app.command()
def replay(
    bootstrap: Bootstrap = "",
    data: Annotated[Path, typer.Option(help="the dataset CSV")] = Path("data/dataset_SCL.csv"),
    start: Annotated[int, typer.Option(help="first data row (0-based)", min=0)] = 0,
    limit: Annotated[int | None, typer.Option(help="at most this many events", min=0)] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="scheduled on or after YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="scheduled on or before YYYY-MM-DD")] = None,
    rate: Annotated[float, typer.Option(help="events per second; 0 = as fast as possible", min=0)] = 0.0,
    event_format: Annotated[str, typer.Option("--format", help="canonical | dataset (raw CSV row)")] = "canonical",
    delivery_timeout: Annotated[
        float, typer.Option(help="seconds an event may wait for the broker before it counts as failed", min=1)
    ] = 30.0,
    outcomes: Annotated[
        bool, typer.Option("--with-outcomes", help="also publish each flight's actual departure, later, as live")
    ] = False,
    speed: Annotated[
        float, typer.Option(help="with outcomes: simulated seconds per real second (0 = no waiting)", min=0)
    ] = 3600.0,
    lead: Annotated[
        float, typer.Option(help="with outcomes: minutes before its scheduled departure a flight is published", min=0)
    ] = 60.0,
) -> None:
    """Publish dataset flights to the input topic, keyed by flight id (and, with outcomes, each flight's actual
    departure to the departures topic when the simulated clock reaches it)."""
    if outcomes and rate:
        raise typer.BadParameter(
            "with --with-outcomes the simulated clock sets the pace: use --speed", param_hint="--rate"
        )
    if event_format not in ("canonical", "dataset"):
        raise typer.BadParameter("--format must be canonical or dataset")
    fmt: EventFormat = "canonical" if event_format == "canonical" else "dataset"
    first, last = _day(date_from, "--from"), _day(date_to, "--to")
    if first and last and first > last:
        raise typer.BadParameter(f"--from {first} is after --to {last}", param_hint="--from")
    if not data.is_file():
        raise typer.BadParameter(f"{data} is not a file (the dataset CSV; `make data` fetches it)", param_hint="--data")
    config = _config(bootstrap)
    topics = _read(TopicSettings)
    if outcomes:
        flights = dataset_flights(data, start, limit, first, last)
        records = with_outcomes(flights, fmt, (topics.input, topics.outcomes), speed, timedelta(minutes=lead))
        target = f"→ {topics.input} + {topics.outcomes}"
    else:
        events = dataset_events(data, start, limit, first, last, fmt)
        records = [Scheduled(i / rate if rate else 0.0, topics.input, k, v) for i, (k, v) in enumerate(events)]
        target = f"→ {topics.input}"
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    producer = Producer(
        {**config, "enable.idempotence": True, "linger.ms": 10, "message.timeout.ms": int(delivery_timeout * 1000)}
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(target, total=len(records))
        report = publish_schedule(
            producer, records, on_sent=lambda: progress.advance(task), flush_timeout_s=delivery_timeout + 5
        )
    colour = "green" if report.failed == 0 else "red"
    console.print(
        f"[{colour}]delivered {report.delivered:,}, failed {report.failed:,}[/]"
        + (f" (first error: {report.first_error})" if report.first_error else "")
    )
    if report.failed:
        raise typer.Exit(1)


@app.command()
def watch(
    bootstrap: Bootstrap = "",
    limit: Annotated[int, typer.Option(help="stop after this many predictions; 0 = never")] = 0,
    idle: Annotated[float, typer.Option(help="stop after this many idle seconds")] = float("inf"),
    from_beginning: Annotated[bool, typer.Option(help="start at the oldest prediction")] = False,
) -> None:
    """Show committed predictions as a live table."""
    count = watch_predictions(
        _config(bootstrap), _read(TopicSettings).predictions, limit, idle, from_beginning, console
    )
    console.print(f"{count:,} predictions read")


@app.command()
def demo(
    flights: Annotated[int, typer.Option(help="dataset flights to replay")] = 3000,
    consumers: Annotated[int, typer.Option(help="scorer processes in the group", min=1)] = 2,
    data: Annotated[Path, typer.Option(help="the dataset CSV")] = Path("data/dataset_SCL.csv"),
    models: Annotated[Path, typer.Option(help="models directory or version")] = Path("models"),
) -> None:
    """Everything end to end: broker, topics, scorers, replay, summary, clean stop (what `make run` does)."""
    from producer.demo import run_demo

    _read(KafkaSettings), _read(TopicSettings)  # a bad setting is refused before a broker starts
    raise typer.Exit(run_demo(flights, consumers, data, models, console))
