"""`make run`'s last act: the monitor joins the flights' outcomes to the predictions and checks the stream features
they carried, and the run ends with each version's online figures beside its manifest's offline ones, what
drifted, and whether the features served equal the training definition's."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from kafka_common.settings import TopicSettings
from local_stack.processes import ScorerProcess
from monitor.report_page import render
from monitor.report_source import gather
from monitor.settings import MonitorSettings
from producer.interrupt import StopRequest
from producer.reading import committed_reader, read_messages
from schemas.monitoring import (
    MODEL_METRICS_RECORD,
    EstimatedFigure,
    ModelComparisonReport,
    ModelMetricsReport,
    PerformanceEstimateReport,
    StreamConsistencyReport,
)
from training.manifest import OFFLINE_FIGURES, read_manifest

FIGURES = ("roc_auc", "pr_auc", "recall", "precision", "brier")


def start_monitor(bootstrap: str, topics: TopicSettings, workdir: Path, models: Path) -> ScorerProcess:
    """A monitor whose windows hold the whole run and that reports every second."""
    env = {
        **topics.environment(),
        "MONITOR_GROUP_ID": f"monitor-{topics.input}-{time.time_ns()}",
        "MONITOR_REPORT_INTERVAL_S": "1",
        "MONITOR_WINDOW_EVENTS": "1000000",
        "MONITOR_WINDOW_HOURS": "1000000",
        "MONITOR_MODEL_URI": str(models),
    }
    return ScorerProcess(bootstrap, models, workdir / "monitor.log", "run-monitor", env, module="monitor").start()


def await_joined(monitor: ScorerProcess, expected: int, stop: StopRequest | None = None, timeout_s: float = 120) -> int:
    """Wait until the monitor has joined `expected` predictions (every version, every role) and none waits for its
    stream-feature check; return how many were joined."""
    deadline = time.monotonic() + timeout_s
    joined = 0
    while time.monotonic() < deadline and not (stop and stop.is_set()):
        joined = int(sum(sample.value for sample in monitor.samples("flightdelay_monitor_joined_total")))
        if joined >= expected and monitor.metric("flightdelay_monitor_stream_predictions_waiting") == 0:
            break
        time.sleep(0.5)
    time.sleep(2)  # the next report covers every joined prediction
    return joined


@dataclass
class LastReports:
    """The newest figures of each (role, version) over the count window, and of each lineup's comparison."""

    figures: dict[tuple[str, str], ModelMetricsReport] = field(default_factory=dict)
    comparisons: dict[tuple[str, str], ModelComparisonReport] = field(default_factory=dict)
    # per (role, version), the estimate over the most predictions waiting: the one made before the outcomes came
    before_outcomes: dict[tuple[str, str], PerformanceEstimateReport] = field(default_factory=dict)
    # per monitor instance, its newest stream-feature check
    consistency: dict[str, StreamConsistencyReport] = field(default_factory=dict)


def last_reports(config: dict[str, Any], topic: str) -> LastReports:
    reader = committed_reader(config, [topic])
    latest = LastReports()
    try:
        for message in read_messages(reader, lambda: False, 3, 15):
            report = MODEL_METRICS_RECORD.validate_json(message.value() or b"")
            if isinstance(report, ModelComparisonReport):
                latest.comparisons[(report.champion_version, report.challenger_version)] = report
            elif isinstance(report, PerformanceEstimateReport):
                key = (report.role, report.model_version)
                if report.waiting >= getattr(latest.before_outcomes.get(key), "waiting", 0):
                    latest.before_outcomes[key] = report
            elif isinstance(report, StreamConsistencyReport):
                latest.consistency[report.monitor] = report
            elif report.window == "events":
                latest.figures[(report.role, report.model_version)] = report
    finally:
        reader.close()
    return latest


def comparison_lines(comparisons: dict[tuple[str, str], ModelComparisonReport]) -> list[str]:
    """The gate's verdict on each challenger, on the flights both versions scored."""
    lines = [f"\n  {escape(report.summary())}" for _, report in sorted(comparisons.items())]
    return lines or ["\n  none: no flight was scored by both a champion and a challenger"]


def consistency_lines(latest: LastReports) -> list[str]:
    """The monitor's recomputation of the stream features the predictions carried."""
    lines = [f"\n  {escape(report.summary())}" for _, report in sorted(latest.consistency.items())]
    return lines or ["\n  none: no version served reads stream features"]


@dataclass(frozen=True)
class ConsistencyVerdict:
    ok: bool
    line: str


def consistency_verdict(latest: LastReports, carrying: int) -> ConsistencyVerdict:
    """Whether the monitor checked each of the `carrying` predictions that carry stream features and found every
    value equal to the training definition's."""
    reports = latest.consistency.values()
    checked = sum(report.predictions for report in reports)
    differ = sum(f.mismatched for report in reports for f in report.features)
    unchecked = sum(sum(report.unchecked.values()) for report in reports)
    if checked == carrying and differ == 0 and unchecked == 0:
        return ConsistencyVerdict(
            True,
            f"[green]online equal to offline: each of the {carrying:,} predictions scored with the stream "
            "features carried exactly the training definition's values[/]",
        )
    return ConsistencyVerdict(
        False,
        f"[red]online against offline: {checked:,} of {carrying:,} predictions with stream features checked, "
        f"{differ:,} values differ, {unchecked:,} not checked[/]",
    )


# Below this many predictions waiting at once, the run says why the estimate before the outcomes covers so few.
FEW_WAITING = 100


def estimate_lines(latest: LastReports) -> list[str]:
    """Each version's figures estimated from the probabilities of its joined predictions beside what their outcomes
    said (the same flights, so a departure beyond chance is the concept shift the monitor flags), then the estimate
    made while outcomes were still to come, over the most predictions that waited at once."""
    lines = []
    for (role, version), report in sorted(latest.figures.items()):
        if report.estimated:
            lines.append(f"\n  {role} {version} on {report.events:,} joined predictions: " + _estimated(report))
    for (role, version), before in sorted(latest.before_outcomes.items()):
        cells = "; ".join(_interval(f) for f in before.figures)
        lines.append(f"\n  before their outcomes, {role} {version} on {before.waiting:,} waiting: {cells}")
    if latest.before_outcomes and max(b.waiting for b in latest.before_outcomes.values()) < FEW_WAITING:
        lines.append(
            "\n  (few predictions wait at once here: the replay's simulated hour between a flight's event and its "
            "outcome passes in milliseconds; in service every flight waits from its event to its departure)"
        )
    return lines or ["\n  none: the monitor published no estimate"]


def _interval(figure: EstimatedFigure) -> str:
    return f"{figure.figure} {figure.estimate:.3f} [{figure.low:.3f}, {figure.high:.3f}]"


def _estimated(report: ModelMetricsReport) -> str:
    cells = [f"{_interval(f)} -> {_number(f.realized)}" for f in report.estimated]
    shifted = [f.figure for f in report.estimated if f.departs]
    return "; ".join(cells) + (f"; [red]concept shift: {', '.join(shifted)}[/]" if shifted else "")


def online_table(reports: dict[tuple[str, str], ModelMetricsReport], model_dirs: dict[str, Path]) -> Table:
    """Online figures of each version on the replayed flights, each beside its manifest's test figure."""
    table = Table(title="online (replayed flights, joined with their outcomes) vs offline (manifest, test split)")
    for column in ("role", "version", "joined", *FIGURES):
        table.add_column(column)
    for (role, version), report in sorted(reports.items()):
        offline = read_manifest(model_dirs[version]).get("metrics", {}).get("test", {}) if version in model_dirs else {}
        cells = []
        for figure in FIGURES:
            online, test = getattr(report, figure), offline.get(OFFLINE_FIGURES[figure])
            cells.append(f"{_number(online)} vs {_number(test)}")
        table.add_row(role, version, f"{report.events:,}", *cells)
    return table


def drift_lines(monitor: ScorerProcess) -> list[str]:
    """What the monitor's drift gauges say, a line a version: drifting features (and score) first, by PSI."""

    def by_version_and_name(name: str) -> dict[tuple[str, str], float]:
        return {(s.labels["version"], s.labels["name"]): s.value for s in monitor.samples(name)}

    psi, thresholds = (
        by_version_and_name("flightdelay_monitor_psi"),
        by_version_and_name("flightdelay_monitor_psi_threshold"),
    )
    drifting = {key for key, value in by_version_and_name("flightdelay_monitor_drifting").items() if value == 1}
    return drift_summary(psi, thresholds, drifting)


def drift_summary(
    psi: dict[tuple[str, str], float], thresholds: dict[tuple[str, str], float], drifting: set[tuple[str, str]]
) -> list[str]:
    """Per version: what drifts (its PSI above the threshold) and what is stable, each by falling PSI; keyed by
    (version, feature or "score")."""
    if not psi:
        return ["\n  none: no version served has a reference profile (trained before they were recorded?)"]
    lines = []
    for version in sorted({version for version, _ in psi}):
        mine = sorted((key for key in psi if key[0] == version), key=lambda key: -psi[key])
        stable = ", ".join(f"{key[1]} {psi[key]:.2f}" for key in mine if key not in drifting) or "nothing"
        drifts = [key for key in mine if key in drifting]
        if not drifts:
            lines.append(f"\n  {escape(version)}: nothing drifts; stable {stable}")
            continue
        above = {key: thresholds.get(key, math.nan) for key in drifts}
        each = len(set(above.values())) > 1  # thresholds differ with a feature's bins: then each is said
        cells = ", ".join(f"{key[1]} {psi[key]:.2f}" + (f" (above {above[key]:.2f})" if each else "") for key in drifts)
        said = "" if each else f" (above {above[drifts[0]]:.2f})"
        lines.append(f"\n  {escape(version)}: [red]drifting[/]{said} {cells}; stable {stable}")
    return lines


def _number(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "-"


def write_report(config: dict[str, Any], topics: TopicSettings, models: Path, out: Path) -> str:
    """The monitor's HTML report of the run (`flightdelay-monitor report`), windows sized for a short replay."""
    settings = MonitorSettings(model_uri=str(models), window_events=500, drift_window_events=1_000)
    inputs = gather(config, settings, topics, timeout_s=60)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(inputs), encoding="utf-8")
    joined = sum(len(rows) for rows in inputs.models.values())
    return f"the monitor's report of the run ({joined:,} joined predictions, {inputs.flights:,} flights): {out}"
