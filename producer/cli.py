"""`flightdelay-producer`: replay the dataset as flight events, watch predictions, or run the whole demo."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from confluent_kafka import Producer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from kafka_common.settings import KafkaSettings, TopicSettings
from producer.replay import EventFormat, dataset_events, publish
from producer.watch import watch as watch_predictions

app = typer.Typer(help="Publish flight events and watch delay predictions.", no_args_is_help=True, add_completion=False)
console = Console()
if not console.is_terminal:  # logs and pipes: keep table rows on one line
    console.width = 150
Bootstrap = Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="host:port list")]


def _config(bootstrap: str) -> dict[str, object]:
    if not bootstrap:
        console.print("[red]no broker: set KAFKA_BOOTSTRAP_SERVERS or pass --bootstrap[/]")
        raise typer.Exit(2)
    return KafkaSettings().client_config(bootstrap)


def _day(value: str | None) -> date | None:
    return datetime.strptime(value, "%Y-%m-%d").date() if value else None


@app.command()
def replay(
    bootstrap: Bootstrap = "",
    data: Annotated[Path, typer.Option(help="the dataset CSV")] = Path("data/dataset_SCL.csv"),
    start: Annotated[int, typer.Option(help="first data row (0-based)")] = 0,
    limit: Annotated[int | None, typer.Option(help="at most this many events")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="scheduled on or after YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="scheduled on or before YYYY-MM-DD")] = None,
    rate: Annotated[float, typer.Option(help="events per second; 0 = as fast as possible")] = 0.0,
    event_format: Annotated[str, typer.Option("--format", help="canonical | dataset (raw CSV row)")] = "canonical",
) -> None:
    """Publish dataset flights to the input topic, keyed by flight id."""
    if event_format not in ("canonical", "dataset"):
        raise typer.BadParameter("--format must be canonical or dataset")
    fmt: EventFormat = "canonical" if event_format == "canonical" else "dataset"
    config = _config(bootstrap)
    topic = TopicSettings().input
    events = list(dataset_events(data, start, limit, _day(date_from), _day(date_to), fmt))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"→ {topic}", total=len(events))
        report = publish(
            Producer({**config, "enable.idempotence": True, "linger.ms": 10}),
            topic,
            events,
            rate,
            on_sent=lambda: progress.advance(task),
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
    count = watch_predictions(_config(bootstrap), TopicSettings().predictions, limit, idle, from_beginning, console)
    console.print(f"{count:,} predictions read")


@app.command()
def demo(
    flights: Annotated[int, typer.Option(help="dataset flights to replay")] = 3000,
    consumers: Annotated[int, typer.Option(help="scorer processes in the group")] = 2,
    data: Annotated[Path, typer.Option(help="the dataset CSV")] = Path("data/dataset_SCL.csv"),
    models: Annotated[Path, typer.Option(help="models directory or version")] = Path("models"),
) -> None:
    """Everything end to end: broker, topics, scorers, replay, summary, clean stop (what `make run` does)."""
    from producer.demo import run_demo

    raise typer.Exit(run_demo(flights, consumers, data, models, console))
