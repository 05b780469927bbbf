"""`flightdelay-producer`: replay the dataset as flight events, watch predictions, or run the whole demo."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, get_args

import typer
from confluent_kafka import KafkaException, Producer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from kafka_common.cli_support import Bootstrap, Timeout, broker_or_exit, client_config_or_exit, settings_or_exit
from kafka_common.console import command_app, output_console
from kafka_common.settings import TopicSettings
from producer.interrupt import EXIT_INTERRUPTED, StopRequestedError, stop_on_interrupt
from producer.redrive import Redrive, Selection
from producer.replay import (
    DEFAULT_SPEED,
    EventFormat,
    ReplayDataError,
    Scheduled,
    dataset_events,
    dataset_extent,
    dataset_flights,
    publish_schedule,
    with_outcomes,
)
from producer.watch import watch as watch_predictions
from schemas.outputs import ErrorKind
from stream_runtime.settings import KafkaSettings, S
from training.stream_backfill import DEFAULT_LEAD_MINUTES

app = command_app(help="Publish flight events and watch delay predictions.", no_args_is_help=True, add_completion=False)
console = output_console()


KIND_NAMES: tuple[str, ...] = get_args(ErrorKind)
KINDS = ", ".join(KIND_NAMES)


def _config(bootstrap: str) -> dict[str, object]:
    return client_config_or_exit(bootstrap, console)


def _read(kind: type[S]) -> S:
    return settings_or_exit(kind, console)


def _selection(start: int, limit: int | None, first: date | None, last: date | None) -> str:
    given = (("--start", f"{start:,}" if start else None), ("--limit", limit), ("--from", first), ("--to", last))
    return " ".join(f"{name} {value}" for name, value in given if value is not None) or "the whole file"


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
        float | None,
        typer.Option(
            help=f"with outcomes: simulated seconds per real second (0 = no waiting; {DEFAULT_SPEED:g} if not given)",
            min=0,
        ),
    ] = None,
    lead: Annotated[
        float | None,
        typer.Option(
            help="with outcomes: minutes before its scheduled departure a flight is published "
            f"({DEFAULT_LEAD_MINUTES} if not given, as training's --lead-minutes)",
            min=0,
        ),
    ] = None,
) -> None:
    """Publish dataset flights to the input topic, keyed by flight id (and, with outcomes, each flight's actual
    departure to the departures topic when the simulated clock reaches it)."""
    if outcomes and rate:
        raise typer.BadParameter(
            "with --with-outcomes the simulated clock sets the pace: use --speed", param_hint="--rate"
        )
    clock_only = "sets the simulated clock of --with-outcomes; without it, --rate paces the events"
    for name, value in (("--speed", speed), ("--lead", lead)):
        if value is not None and not outcomes:  # would be ignored, silently
            raise typer.BadParameter(clock_only, param_hint=name)
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
    try:  # the whole file is read before anything is sent: a bad row costs nothing
        if outcomes:
            flights = dataset_flights(data, start, limit, first, last)
            pace, ahead = DEFAULT_SPEED if speed is None else speed, DEFAULT_LEAD_MINUTES if lead is None else lead
            records = with_outcomes(flights, fmt, (topics.input, topics.outcomes), pace, timedelta(minutes=ahead))
            target = f"→ {topics.input} + {topics.outcomes}"
        else:
            events = dataset_events(data, start, limit, first, last, fmt)
            records = [Scheduled(i / rate if rate else 0.0, topics.input, k, v) for i, (k, v) in enumerate(events)]
            target = f"→ {topics.input}"
    except ReplayDataError as exc:
        console.print(f"[red]bad dataset, nothing sent: {exc}[/]")
        raise typer.Exit(2) from None
    if not records:
        chosen = _selection(start, limit, first, last)
        console.print(f"[red]no flight selected, nothing sent: {dataset_extent(data)}; {chosen} selects none[/]")
        raise typer.Exit(2)
    broker_or_exit(config, delivery_timeout, console)  # said at once, not as "failed N" after the whole wait
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    producer = Producer(
        {**config, "enable.idempotence": True, "linger.ms": 10, "message.timeout.ms": int(delivery_timeout * 1000)}
    )
    with stop_on_interrupt() as stop, Progress(*columns, console=console) as progress:
        task = progress.add_task(target, total=len(records))
        report = publish_schedule(
            producer, records, lambda: progress.advance(task), flush_timeout_s=delivery_timeout + 5, stop=stop
        )
    colour = "green" if report.failed == 0 and not report.interrupted else "red"
    console.print(
        ("interrupted: " if report.interrupted else "")
        + f"[{colour}]{report.summary()}[/]"
        + (f" (first error: {report.first_error})" if report.first_error else "")
    )
    if report.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def watch(
    bootstrap: Bootstrap = "",
    limit: Annotated[int, typer.Option(min=0, help="stop after this many predictions; 0 = never")] = 0,
    idle: Annotated[float, typer.Option(min=0, help="stop after this many idle seconds")] = float("inf"),
    from_beginning: Annotated[bool, typer.Option(help="start at the oldest prediction")] = False,
    timeout_s: Timeout = 30.0,
) -> None:
    """Show committed predictions as a live table (Ctrl-C ends it)."""
    config, topic = _config(bootstrap), _read(TopicSettings).predictions
    broker_or_exit(config, timeout_s, console)  # not an empty table and "0 predictions read" from no broker
    with stop_on_interrupt() as stop:
        watched = watch_predictions(config, topic, limit, idle, from_beginning, console, stop)
    console.print(("interrupted: " if stop.is_set() else "") + escape(watched.summary()))
    if stop.is_set():
        raise typer.Exit(EXIT_INTERRUPTED)


@app.command()
def redrive(
    bootstrap: Bootstrap = "",
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help=f"error kinds to redrive (repeat); default all: {KINDS}")
    ] = None,
    since: Annotated[str | None, typer.Option(help="dead-lettered at or after, ISO 8601 (naive: UTC)")] = None,
    until: Annotated[str | None, typer.Option(help="dead-lettered before, ISO 8601 (naive: UTC)")] = None,
    source_topic: Annotated[str | None, typer.Option(help="only letters from this input topic")] = None,
    group: Annotated[
        str, typer.Option(help="the redrive group: a letter is redriven at most once per group")
    ] = "flightdelay-redrive",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list what would be sent; send and commit nothing")
    ] = False,
    batch_size: Annotated[int, typer.Option(help="letters per transaction", min=1)] = 500,
    timeout_s: Timeout = 30.0,
) -> None:
    """Re-publish selected dead letters (original key, bytes and headers) to the input topic, e.g. once a model
    that knows a new airline is champion. Letters redriven once and failed again are not redriven again."""
    unknown = sorted(set(kind or []) - set(KIND_NAMES))
    if unknown:
        raise typer.BadParameter(f"unknown kind {', '.join(unknown)}; choose from {KINDS}", param_hint="--kind")
    first, last = _instant(since, "--since"), _instant(until, "--until")
    if first and last and first >= last:
        raise typer.BadParameter(
            f"--since {first} is not before --until {last}: no letter can be between", param_hint="--since"
        )
    selection = Selection(frozenset(kind) if kind else None, first, last, source_topic)
    topics, config = _read(TopicSettings), _config(bootstrap)
    broker_or_exit(config, timeout_s, console)  # said at once, not as a failed batch after the client's own 30 s
    run = Redrive(config, topics.dead_letter, topics.input, group, batch_size)
    verb = "would redrive" if dry_run else "redriven"
    try:
        with stop_on_interrupt() as stop, console.status(f"reading {topics.dead_letter} for group {group}") as status:
            report = run.run(
                selection, dry_run, lambda r: status.update(f"read {r.read:,}, {verb} {r.redriven:,}"), stop
            )
    except KafkaException as exc:
        console.print(
            f"[red]redrive stopped: {exc.args[0].str()}[/]; nothing of the unfinished batch was published and its "
            "letters stay unredriven: run the same command again to continue"
        )
        raise typer.Exit(1) from None
    for example in report.examples:
        console.print(f"  {example}")
    skipped = ", ".join(f"{reason}: {count:,}" for reason, count in report.skipped.most_common()) or "none"
    kinds = ", ".join(f"{kind}: {count:,}" for kind, count in report.kinds.most_common())
    target = f" to {topics.input}" if not dry_run else f"; nothing sent to {topics.input} (dry run)"
    console.print(
        ("interrupted between batches, what was sent is committed: " if stop.is_set() else "")
        + f"read {report.read:,} dead letters; {verb} {report.redriven:,}"
        + (f" ({kinds})" if kinds else "")
        + f"{target}; skipped {skipped}"
    )
    if stop.is_set():
        raise typer.Exit(EXIT_INTERRUPTED)


def _instant(value: str | None, option: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date or time", param_hint=option) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command()
def demo(
    flights: Annotated[int, typer.Option(help="dataset flights to replay", min=1)] = 3000,
    consumers: Annotated[int, typer.Option(help="scorer processes in the group", min=1)] = 2,
    data: Annotated[Path, typer.Option(help="the dataset CSV")] = Path("data/dataset_SCL.csv"),
    models: Annotated[
        Path, typer.Option(help="where the run keeps its two versions (trained there when missing)")
    ] = Path("build/run/models"),
) -> None:
    """Everything end to end: two versions trained on the flights before the replayed ones, broker, topics,
    scorers, a replay with the outcomes, summary, clean stop (what `make run` does)."""
    from producer.demo import run_demo

    _read(KafkaSettings), _read(TopicSettings)  # a bad setting is refused before a broker starts
    if models.exists() and not models.is_dir():
        raise typer.BadParameter(
            f"{models} is a file: name a directory for the run's model versions", param_hint="--models"
        )
    if not data.is_file():
        raise typer.BadParameter(f"no dataset at {data} (`make data` fetches it)", param_hint="--data")
    with stop_on_interrupt() as stop:
        try:
            code = run_demo(flights, consumers, data, models, console, stop)
        except StopRequestedError:
            console.print("interrupted: the scorers, the monitor and the broker were stopped; nothing left running")
            code = EXIT_INTERRUPTED
    raise typer.Exit(code)
