"""The drift story, run for real: a model trained on January-October meets November-December on the stream.

Trains that model (the flights scheduled before 1 November), starts a broker (or uses `KAFKA_BOOTSTRAP_SERVERS`),
a scorer serving it and a monitor, replays every November-December flight with its outcome on a simulated clock,
(with `--stream-features`: the same months' version with the stream features as champion, that model in shadow,
the outcomes of the last week of October first),
waits until each prediction is joined, then reads the topics back as `flightdelay-monitor report` does and says
what the monitor saw: online figures beside the manifest's, when the drift showed and in which features, when the
online recall fell below the recall alert's line. Writes the report and its figures; docs/monitoring.md quotes a
run of it.

    .venv/bin/python -m producer.drift_story --figures docs/figures
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from rich.console import Console
from rich.table import Table

from kafka_common.console import command_app, output_console
from kafka_common.settings import TopicSettings
from kafka_common.topics import ensure_topics, topic_specs
from local_stack.processes import ScorerProcess
from local_stack.provider import kafka_broker
from monitor.estimate_reports import estimated_figures
from monitor.estimation import estimate
from monitor.online_metrics import window_metrics
from monitor.report import ModelRows, rolling_windows
from monitor.report_page import ReportInputs, render, save_figures
from monitor.report_source import gather
from monitor.settings import MonitorSettings
from producer.demo_monitor import await_joined
from producer.demo_rollout import Rollout
from producer.replay import after_outcomes_before, dataset_flights, publish_schedule, with_outcomes
from stream_runtime.settings import KafkaSettings
from training.stream_backfill import DEFAULT_LEAD_MINUTES
from training.stream_features import WINDOW_DAYS
from training.train import TrainingRun, train

app = command_app(add_completion=False)
CUTOFF = date(2017, 11, 1)
WINDOW = 1_000  # joined predictions per rolling window, and flights per drift window (the monitor's, too)
RECALL_MARGIN = 0.10  # the recall alert's margin below the manifest's test recall (monitor/observability)


@dataclass
class Replayed:
    """What the replay left: the monitor's topics read back, its drift log lines, and how the run went."""

    inputs: ReportInputs
    drift_log: list[str]
    failed: int
    joined: int
    expected: int
    exit_codes: list[int]


@app.command()
def main(
    data: Annotated[Path, typer.Option(help="the SCL flights CSV")] = Path("data/dataset_SCL.csv"),
    workdir: Annotated[Path, typer.Option(help="model, logs and the report")] = Path("build/story"),
    seconds: Annotated[float, typer.Option(help="how long the two months take to replay")] = 60,
    figures: Annotated[Path | None, typer.Option(help="also write the figures as PNG here")] = None,
    stream_features: Annotated[
        bool, typer.Option(help="champion: a version with the stream features; the version without in shadow")
    ] = False,
) -> None:
    console = output_console()
    workdir.mkdir(parents=True, exist_ok=True)
    for log in ("scorer.log", "monitor.log"):
        (workdir / log).unlink(missing_ok=True)  # this run's lines only
    runs = _train_versions(console, data, workdir, stream_features)
    tests = {r.manifest["version"]: r.manifest["metrics"]["test"] for r in runs}
    replayed = _replay(console, data, workdir, runs, seconds)
    out = workdir / "report.html"
    out.write_text(render(replayed.inputs), encoding="utf-8")
    if figures is not None:
        save_figures(replayed.inputs, figures, "story-")
    tell(console, replayed.inputs, tests, replayed.drift_log)
    for checked in replayed.inputs.consistency:
        console.print(f"stream features recomputed by the monitor: {checked.summary()}")
    console.print(f"report: {out}; scorer and monitor stopped with {replayed.exit_codes}")
    if replayed.failed or replayed.joined < replayed.expected or any(replayed.exit_codes):
        raise typer.Exit(1)


def _train_versions(console: Console, data: Path, workdir: Path, stream_features: bool) -> list[TrainingRun]:
    """The January-October version (the champion first; with `stream_features`, the version without them after it,
    to serve as its challenger)."""
    suffix = uuid.uuid4().hex[:6]
    runs = []
    for lead_minutes in (DEFAULT_LEAD_MINUTES, None) if stream_features else (None,):
        name = f"jan-oct-stream-{suffix}" if lead_minutes else f"jan-oct-{suffix}"
        with console.status(f"training {name} on the flights scheduled before 1 November 2017"):
            runs.append(train(data, workdir / "models", name, scheduled_before=CUTOFF, lead_minutes=lead_minutes))
        test = runs[-1].manifest["metrics"]["test"]
        console.print(
            f"model {name}: {runs[-1].manifest['data_rows']:,} flights of January-October; held-out "
            f"January-October test ROC-AUC {test['roc_auc']:.3f}, recall {test['recall_delayed']:.3f} at threshold "
            f"{runs[-1].manifest['threshold']:.3f}"
        )
    return runs


def _replay(console: Console, data: Path, workdir: Path, runs: list[TrainingRun], seconds: float) -> Replayed:
    """A broker, a scorer serving the versions and a monitor; November-December replayed with its outcomes, joined,
    and the topics read back as `flightdelay-monitor report` reads them."""
    run, stream_features = runs[0], len(runs) > 1
    lead = timedelta(minutes=DEFAULT_LEAD_MINUTES) if stream_features else timedelta(hours=2)
    flights = list(dataset_flights(data, date_from=CUTOFF))
    kafka = KafkaSettings()
    with kafka_broker(kafka) as endpoint:
        topics = TopicSettings.unique(f"story-{uuid.uuid4().hex[:6]}")
        config = kafka.client_config(endpoint.bootstrap_servers)
        ensure_topics(AdminClient(config), topic_specs(topics))
        env = {**topics.environment(), "SCORER_GROUP_ID": f"story-{topics.input}"}
        scorer = ScorerProcess(endpoint.bootstrap_servers, run.directory, workdir / "scorer.log", "story", env)
        monitor_env = {
            **topics.environment(), "MONITOR_GROUP_ID": f"story-monitor-{topics.input}",
            "MONITOR_REPORT_INTERVAL_S": "1", "MONITOR_WINDOW_EVENTS": str(WINDOW),
            "MONITOR_DRIFT_WINDOW_EVENTS": str(WINDOW),
            "MONITOR_MODEL_URI": str(run.directory),
        }  # fmt: skip
        monitor = ScorerProcess(
            endpoint.bootstrap_servers, run.directory, workdir / "monitor.log", "story-monitor", monitor_env, "monitor"
        )
        try:
            if stream_features:
                rollout = Rollout(config, topics.model_control, console, by="drift story")
                rollout.step("champion", run.directory)
                rollout.step("challenger", runs[1].directory)
            for process in (scorer.start(), monitor.start()):
                process.wait_ready()
            departures = [event.scheduled_departure for _, event in flights]
            speed = (max(departures) - min(departures)).total_seconds() / seconds
            schedule = with_outcomes(flights, "canonical", (topics.input, topics.outcomes), speed, lead)
            if stream_features:
                schedule = after_outcomes_before(schedule, data, CUTOFF, WINDOW_DAYS, topics.outcomes, lead)
            expected = len(flights) * len(runs)  # each flight predicted, and shadowed by the challenger
            with console.status(f"replaying {len(flights):,} November-December flights and their outcomes"):
                started = time.monotonic()
                report = publish_schedule(Producer({**config, "enable.idempotence": True}), schedule)
                joined = await_joined(monitor, expected, timeout_s=120)
            console.print(
                f"replayed {report.delivered:,} records in {time.monotonic() - started:.0f} s ({speed:,.0f}x real "
                f"time); the monitor joined {joined:,} of {expected:,} predictions"
            )
            settings = MonitorSettings(model_uri=str(run.directory), window_events=WINDOW, drift_window_events=WINDOW)
            inputs = gather(config, settings, topics, timeout_s=60)
            drift_log = [line for line in monitor.log_path.read_text().splitlines() if '"drift: ' in line]
        finally:
            codes = [scorer.stop(), monitor.stop()]
    return Replayed(inputs, drift_log, report.failed, joined, expected, codes)


def tell(console: Console, inputs: ReportInputs, tests: dict[str, dict[str, float]], drift_log: list[str]) -> None:
    """What the monitor saw, from the run's own topics: each version's figures, then the champion's story."""
    for (role, version), rows in sorted(inputs.models.items()):
        online, test = rows.overall(), tests[version]
        table = Table(title=f"{role} {version} on November-December (online) vs its January-October test (offline)")
        for column in ("figure", "online", "offline"):
            table.add_column(column)
        for name, value, offline in (
            ("ROC-AUC", online.roc_auc, test["roc_auc"]),
            ("PR-AUC", online.pr_auc, test["pr_auc"]),
            ("recall", online.recall, test["recall_delayed"]),
            ("precision", online.precision, test["precision_delayed"]),
            ("Brier", online.brier, test["brier"]),
        ):
            table.add_row(name, f"{value:.3f}" if value is not None else "–", f"{offline:.3f}")
        table.add_row("delayed share", f"{online.actual_delayed_rate:.1%}", "")
        console.print(table)
    key = next(key for key in inputs.models if key[0] == "champion")
    rows, test = inputs.models[key], tests[key[1]]
    console.print(f"rolling ROC-AUC over {inputs.window:,} joined predictions, by departure:")
    for point in inputs.rolling[key]:
        m = point.metrics
        line = f"  up to {_day(point.departure_s)}: ROC-AUC {m.roc_auc:.3f}, recall {m.recall:.3f}"
        below = m.recall < test["recall_delayed"] - RECALL_MARGIN
        console.print(line + ("  [red](recall below the alert's line)[/]" if below else ""))
    tell_estimates(console, rows, inputs.window)
    console.print(f"drift, windows of {inputs.drift_window:,} flights against the January-October profile:")
    for window in inputs.drift:
        drifting = ", ".join(f"{v.name} {v.psi:.2f}" for v in window.verdicts if v.drifting) or "none"
        console.print(f"  up to {_day(window.departure_s)}: drifting {drifting}")
    first = inputs.drift[0] if inputs.drift else None
    if first is not None:
        for verdict in sorted(first.verdicts, key=lambda v: -v.psi):
            console.print(f"  first window: {verdict.describe()}")
    console.print(f"the monitor's own drift log lines: {len(drift_log)}", *drift_log[:12], sep="\n  ")


def tell_estimates(console: Console, rows: ModelRows, window: int) -> None:
    """What the model's own probabilities promised (the estimate the monitor makes before the outcomes) beside
    what the outcomes then said, over all flights and consecutive windows."""
    console.print(
        f"estimated from the probabilities (95 %) -> realized, consecutive windows of {window:,} joined predictions:"
    )
    windows = [slice(0, len(rows)), *rolling_windows(rows, window, step=window)]
    for number, chosen in enumerate(windows):
        found = estimate(rows.probability[chosen], rows.threshold)
        realized = window_metrics(rows.probability[chosen], rows.delayed[chosen], rows.threshold).as_dict()
        figures = estimated_figures(found, realized)
        cells = [f"{f.figure} {f.estimate:.3f} [{f.low:.3f}, {f.high:.3f}] -> {f.realized:.3f}" for f in figures]
        shifted = [f.figure for f in figures if f.departs]
        label = "all flights" if number == 0 else f"up to {_day(float(rows.departure_s[chosen.stop - 1]))}"
        mark = f"  [red]concept shift: {', '.join(shifted)}[/]" if shifted else ""
        console.print(f"  {label}: " + "; ".join(cells) + mark)


def _day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


if __name__ == "__main__":
    app()
