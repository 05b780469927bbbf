"""`training`: fit the delay model on the dataset and write a verified artifact with its report."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from confluent_kafka import KafkaException
from rich.markup import escape
from rich.table import Table

from kafka_common.cli_support import Bootstrap, Timeout, client_config_or_exit, settings_or_exit, wait_for_broker
from kafka_common.console import command_app, output_console, step_progress
from kafka_common.model_control import ControlReader, latest_by_role, write_control
from kafka_common.model_fleet import forget, left_behind, read_fleet, running, served_champion
from kafka_common.settings import TopicSettings
from schemas.model_control import ModelControl, ModelRole, ServingStatus
from training.dataset import DatasetFormatError
from training.gate_verdicts import read_comparisons
from training.manifest import LATEST, ModelVerificationError
from training.model_store import publish_to_s3
from training.promotion import clearing, local_versions, promotion, rollback, verified
from training.stream_backfill import DEFAULT_LEAD_MINUTES
from training.train import PRODUCTION, total_steps, train

app = command_app(help="Train and inspect the flight-delay model.", no_args_is_help=True)
console = output_console()


@app.command()
def fit(
    data: Annotated[Path, typer.Option(help="the SCL flights CSV")] = Path("data/dataset_SCL.csv"),
    out: Annotated[Path, typer.Option(help="models directory; the run writes out/<version>/")] = Path("models"),
    version: Annotated[str | None, typer.Option(help="version name (default: UTC timestamp)")] = None,
    c: Annotated[
        float | None,
        typer.Option("--c", min=1e-6, help="regularisation strength (default: the best validation ROC-AUC of a grid)"),
    ] = None,
    scheduled_before: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="train on flights scheduled before this day only (e.g. 2017-11-01)"),
    ] = None,
    stream_features: Annotated[
        bool,
        typer.Option(help="also read what the departures say before each flight (the scorers read them too)"),
    ] = False,
    lead_minutes: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="with --stream-features: how long before its scheduled departure an event is known "
            f"({DEFAULT_LEAD_MINUTES} if not given)",
        ),
    ] = None,
    if_missing: Annotated[
        bool,
        typer.Option(
            "--if-missing", help="train only when OUT has no 'latest' model (a stack started again keeps its model)"
        ),
    ] = False,
) -> None:
    """Train, compare candidates, choose the threshold, write model.joblib, manifest.json and report.md."""
    if lead_minutes is not None and not stream_features:  # would be ignored: a version without them has no lead
        no_lead = "is the stream features' lead: give --stream-features too"
        raise typer.BadParameter(no_lead, param_hint="--lead-minutes")
    if if_missing and (out / LATEST).exists():
        console.print(f"{out / LATEST} is {(out / LATEST).resolve().name}: nothing trained (--if-missing)")
        return
    try:
        with step_progress(console, total_steps(stream_features, c is not None)) as step:
            run = train(
                data,
                out,
                version,
                step,
                c,
                scheduled_before.date() if scheduled_before else None,
                (DEFAULT_LEAD_MINUTES if lead_minutes is None else lead_minutes) if stream_features else None,
            )
    except DatasetFormatError as exc:
        console.print(f"[red]bad dataset[/]: {exc}")
        raise typer.Exit(2) from exc
    table = Table(title=f"model {run.manifest['version']} in {run.directory} ({run.seconds:.1f} s)")
    for column in ("model", "split", "ROC-AUC", "PR-AUC", "Brier", "recall", "precision", "F1", "threshold"):
        table.add_column(column)
    for r in run.results:
        m = r.metrics
        style = "bold" if r.name == PRODUCTION else ""
        table.add_row(
            r.name,
            r.split,
            f"{m.roc_auc:.3f}",
            f"{m.pr_auc:.3f}",
            f"{m.brier:.4f}",
            f"{m.recall_delayed:.3f}",
            f"{m.precision_delayed:.3f}",
            f"{m.f1_delayed:.3f}",
            f"{m.threshold:.3f}",
            style=style,
        )
    console.print(table)
    console.print(f"report: {run.directory / 'report.md'}")


EXIT_REFUSED = 2


@app.command()
def verify(
    uri: Annotated[
        str, typer.Argument(help="a version directory, a models directory, or s3://bucket/prefix/")
    ] = "models",
) -> None:
    """Check an artifact (manifest, every file's sha256, library versions, lookup tables equal to the pipeline)
    and print its headline figures."""
    try:
        model = verified(uri)
    except ModelVerificationError as exc:
        console.print(f"[red]refused[/]: {exc}")
        raise typer.Exit(EXIT_REFUSED) from exc  # the scorer's exit code for the same refusal
    test = model.manifest.metrics["test"]
    console.print(
        f"[green]ok[/] {uri}: version {model.version}, threshold {model.threshold:.3f}, "
        f"test ROC-AUC {test['roc_auc']:.3f}, recall {test['recall_delayed']:.3f}"
    )


@app.command()
def publish(
    to: Annotated[str, typer.Option(help="models root in S3, e.g. s3://bucket/models/")],
    path: Annotated[Path, typer.Argument(help="a version directory or a models directory")] = Path("models"),
    latest: Annotated[bool, typer.Option(help="point <to>/latest at this version after the upload")] = True,
) -> None:
    """Upload a verified version to S3 (files first, then the `latest` pointer) and print its URI."""
    try:
        uri = publish_to_s3(path, to, make_latest=latest)
    except ModelVerificationError as exc:
        console.print(f"[red]refused[/]: {exc}")
        raise typer.Exit(1) from exc
    print(uri)


Models = Annotated[Path, typer.Option(help="the local models directory that `training fit` writes")]
Reason = Annotated[str, typer.Option(help="why, for the record and the scorers' logs")]


@dataclass(frozen=True)
class _Broker:
    """What the role commands reach the broker with, and how long each read or write waits for its answer."""

    config: dict[str, object]
    timeout_s: float


@app.command()
def promote(
    version: Annotated[str, typer.Argument(help="a version under --models")],
    role: Annotated[ModelRole, typer.Option(help="champion: serves; challenger: scored in shadow")] = (
        ModelRole.CHAMPION
    ),
    reason: Reason = "",
    models: Models = Path("models"),
    to: Annotated[
        str | None,
        typer.Option(envvar="MODEL_URI", help="where scorers fetch models; on s3:// the version is uploaded first"),
    ] = None,
    bootstrap: Bootstrap = "",
    timeout_s: Timeout = 30.0,
) -> None:
    """Give a verified version a role: every scorer swaps it in between two batches, without a restart."""
    topics = settings_or_exit(TopicSettings, console)
    broker, topic = _Broker(client_config_or_exit(bootstrap, console), timeout_s), topics.model_control
    try:  # before the broker is asked: a mistyped or damaged version is refused wherever the broker is
        model = verified(str(models / version))
    except ModelVerificationError as exc:
        console.print(f"[red]refused[/]: {exc}")
        raise typer.Exit(EXIT_REFUSED) from exc
    current = _lineup(broker, topic)
    served = None
    if role is ModelRole.CHAMPION and ModelRole.CHAMPION not in current:
        served = served_champion(_fleet(broker, topics.model_fleet), datetime.now(UTC))  # what it replaces
    _write(broker, topic, promotion(model, to, role, current, reason, served))


@app.command("clear-challenger")
def clear_challenger(reason: Reason = "", bootstrap: Bootstrap = "", timeout_s: Timeout = 30.0) -> None:
    """Stop scoring the challenger in shadow."""
    broker, topic = _broker(bootstrap, timeout_s)
    _write(broker, topic, clearing(_lineup(broker, topic), reason))


@app.command("rollback")
def roll_back(reason: Reason = "rollback", bootstrap: Bootstrap = "", timeout_s: Timeout = 30.0) -> None:
    """Make the champion the current one replaced champion again (after verifying it)."""
    broker, topic = _broker(bootstrap, timeout_s)
    try:
        record = rollback(_lineup(broker, topic), reason)
    except ModelVerificationError as exc:
        console.print(f"[red]refused[/]: {exc}")
        raise typer.Exit(EXIT_REFUSED) from exc
    _write(broker, topic, record)


@app.command("models")
def list_models(models: Models = Path("models"), bootstrap: Bootstrap = "", timeout_s: Timeout = 30.0) -> None:
    """The local versions, their test figures, and the role each holds now on the control topic."""
    broker, topic = _broker(bootstrap, timeout_s)
    current = _lineup(broker, topic)
    table = Table(title=f"models in {models} (roles from {topic})")
    summaries = local_versions(models, current)
    for column in ("version", "folder", "created", "test ROC-AUC", "test recall", "threshold", "role now", "promote"):
        table.add_column(column)
    for summary in summaries:
        table.add_row(
            summary.version,
            summary.folder,
            summary.created_at,
            _figure(summary.roc_auc),
            _figure(summary.recall),
            _figure(summary.threshold),
            ", ".join(summary.roles) or "-",
            "[green]yes[/]" if summary.refusal is None else "[red]refused[/]",
            style="bold" if summary.roles else "",
        )
    if summaries:
        console.print(table)
    else:  # not an empty table
        where = "" if models.is_dir() else " (no such folder)"
        writes = f"`make train` or `training fit --out {models}` writes one"
        console.print(escape(f"no version in {models}{where}: {writes}"))
    for summary in summaries:
        if summary.refusal is not None:
            console.print(f"[red]{models / summary.folder}[/]: promote refuses it: {summary.refusal}")
    fleet_topic = settings_or_exit(TopicSettings, console).model_fleet
    fleet = _fleet(broker, fleet_topic)
    unnamed = served_champion(fleet, datetime.now(UTC)) if ModelRole.CHAMPION not in current else None
    for role in ModelRole:
        record = current.get(role)
        if record and record.model:
            console.print(escape(f"{role}: {record.model.version} (from {record.model.uri})"))
        elif role is ModelRole.CHAMPION and unnamed is not None:  # scorers started from MODEL_URI
            console.print(
                escape(
                    f"{role}: none named on {topic}; the running scorers serve {unnamed.version} from their "
                    "MODEL_URI (a first promotion replaces it)"
                )
            )
        else:
            console.print(f"{role}: none")
    _print_fleet(fleet, fleet_topic)
    _print_gate(broker, current)


@app.command("forget-left-behind")
def forget_left_behind(bootstrap: Bootstrap = "", timeout_s: Timeout = 30.0) -> None:
    """Remove the statuses scorers left behind on the fleet topic (killed, or cut off from the broker)."""
    broker, _ = _broker(bootstrap, timeout_s)
    topic = settings_or_exit(TopicSettings, console).model_fleet
    now = datetime.now(UTC)
    try:
        wait_for_broker(dict(broker.config), broker.timeout_s, console)
        fleet = read_fleet(dict(broker.config), topic, broker.timeout_s)
    except KafkaException as exc:
        console.print(f"[red]cannot read {topic}[/]: {exc.args[0].str()}")
        raise typer.Exit(1) from exc
    behind = left_behind(fleet, now)
    try:
        forget(dict(broker.config), topic, sorted(behind), broker.timeout_s)
    except KafkaException as exc:
        console.print(f"[red]nothing forgotten[/]: {exc.args[0].str()}")
        raise typer.Exit(1) from exc
    for key, status in sorted(behind.items()):
        console.print(escape(f"fleet: forgot {key}: {_last_said(status, now)}"))
    console.print(f"fleet: {len(behind)} left behind forgotten on {topic}, {len(fleet) - len(behind)} still report")


def _broker(bootstrap: str, timeout_s: float) -> tuple[_Broker, str]:
    """The broker and the control topic, or a one-line error (exit 2)."""
    config = client_config_or_exit(bootstrap, console)
    return _Broker(config, timeout_s), settings_or_exit(TopicSettings, console).model_control


def _fleet(broker: _Broker, topic: str) -> dict[str, ServingStatus]:
    try:
        return read_fleet(dict(broker.config), topic, broker.timeout_s)
    except KafkaException as exc:
        console.print(f"fleet: cannot read {topic}: {exc.args[0].str()}")
        return {}


def _print_fleet(fleet: dict[str, ServingStatus], topic: str) -> None:
    """What each running scorer serves (the control topic says what was asked)."""
    now = datetime.now(UTC)
    reporting = running(fleet, now)
    if not reporting:
        console.print(f"fleet: no scorer reports on {topic} (none running, or all stopped cleanly)")
    for key, status in sorted(reporting.items()):
        challenger = f", challenger {status.challenger.version}" if status.challenger else ""
        line = (
            f"fleet: {key} serves champion {status.champion.version}{challenger} since "
            f"{status.since:%Y-%m-%d %H:%M:%S} UTC (reported {status.written_at:%H:%M:%S})"
        )
        if status.refused is not None:
            r = status.refused
            line += f"; refused {r.version} as {r.role} at {r.at:%H:%M:%S}: {r.reason}"
        console.print(escape(line))
    for key, status in sorted(left_behind(fleet, now).items()):
        console.print(
            escape(
                f"fleet: {key} left behind: {_last_said(status, now)}: stopped without withdrawing (killed, or "
                "cut off from the broker); not counted as what the fleet serves (`training forget-left-behind` "
                "removes it)"
            )
        )


def _last_said(status: ServingStatus, now: datetime) -> str:
    return (
        f"it said it served champion {status.champion.version} at {status.written_at:%Y-%m-%d %H:%M:%S} UTC, "
        f"{_age(now - status.written_at)} ago, and reported every {status.report_every_s:g} s before"
    )


def _age(elapsed: timedelta) -> str:
    seconds = int(elapsed.total_seconds())
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {seconds % 60} s"


def _print_gate(broker: _Broker, current: dict[ModelRole, ModelControl]) -> None:
    """The monitor's newest verdict on each lineup, the current one first."""
    topic = settings_or_exit(TopicSettings, console).model_metrics
    try:
        verdicts = read_comparisons(dict(broker.config), topic, broker.timeout_s)
    except KafkaException as exc:
        console.print(f"gate: cannot read {topic}: {exc.args[0].str()}")
        return
    served = tuple(record.model.version if (record := current.get(r)) and record.model else None for r in ModelRole)
    if not verdicts:
        console.print(f"gate: no comparison on {topic} yet (the monitor writes one once paired outcomes arrive)")
    for lineup, report in sorted(verdicts.items(), key=lambda item: (item[0] != served, item[0])):
        now = " (the current lineup)" if lineup == served else ""
        console.print(f"gate{now}, {report.reported_at:%Y-%m-%d %H:%M} UTC: {escape(report.summary())}")


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _lineup(broker: _Broker, topic: str) -> dict[ModelRole, ModelControl]:
    try:
        wait_for_broker(dict(broker.config), broker.timeout_s, console)
        # Closed before the answer is printed: closing serves the client's own reports (`kafka: ...`), which
        # then come before it, not after.
        with closing(ControlReader(dict(broker.config), topic, one_off=True)) as reader:
            records = reader.read_to_end(broker.timeout_s)
    except KafkaException as exc:
        console.print(f"[red]cannot read {topic}[/]: {exc.args[0].str()}")
        raise typer.Exit(1) from exc
    return latest_by_role(records)


def _write(broker: _Broker, topic: str, record: ModelControl) -> None:
    try:
        write_control(dict(broker.config), topic, record, broker.timeout_s)
    except KafkaException as exc:
        console.print(f"[red]not written[/]: {exc.args[0].str()}")
        raise typer.Exit(1) from exc
    what = record.model.version if record.model else "none"
    before = f" (was {record.replaces.version})" if record.replaces else ""
    console.print(f"[green]{record.role}[/]: {what}{before}, written to {topic}")
