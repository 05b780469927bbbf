"""The monitor's report as one self-contained HTML page: a table of each version's online figures beside its
offline ones, and five figures drawn with matplotlib as inline SVG (no files beside the page, no scripts)."""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from monitor.drift import SIGNIFICANT_PSI
from monitor.estimation import ESTIMATED
from monitor.pairing import Lineup
from monitor.report import DriftPoint, EstimateOver, ModelRows, ReliabilityBin, RollingPoint
from monitor.report_gate import GatePoint
from monitor.windows import ModelKey
from schemas.monitoring import EstimatedFigure, StreamConsistencyReport
from training.stream_features import STREAM_FEATURE_NAMES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# The figures every report has, by element id: a test checks the rendered page for each of them.
FIGURES: dict[str, str] = {
    "rolling-auc": "ROC-AUC over a sliding window of joined predictions, per model version",
    "rolling-recall": "Recall at each version's threshold over the same windows",
    "reliability": "Reliability: mean predicted probability against the delayed share, per version",
    "psi": "Population stability index per feature over windows of flight events, against the champion's profile",
    "gate": "The challenger's ROC-AUC gain over the champion on the same flights, with its always-valid 95 % "
    "interval, as the pairs accumulated",
}


PSI_FLOOR = 0.001  # a log axis has no 0: smaller values are drawn here, and the label says so
GATE_AXIS_LIMIT = 0.15  # ROC-AUC gain: a gate decides well inside this
MIN_TIME_PAD_S = 3 * 3600.0  # around a single point in time, hours, not matplotlib's default years


@dataclass(frozen=True)
class ReportInputs:
    """Everything the page shows, computed by `monitor.report`."""

    generated_at: datetime
    source: str  # which broker and topics
    window: int
    drift_window: int
    models: Mapping[ModelKey, ModelRows]
    rolling: Mapping[ModelKey, list[RollingPoint]]
    reliability: Mapping[ModelKey, list[ReliabilityBin]]
    offline: Mapping[str, Mapping[str, float]]  # by version: the manifest's test figures, when known
    drift: list[DriftPoint]
    champion: str | None  # whose reference profile the drift is measured against
    flights: int
    score_drift: list[DriftPoint] = field(default_factory=list)  # the champion's scores, windows of their own
    gate: Mapping[Lineup, list[GatePoint]] = field(default_factory=dict)
    consistency: Sequence[StreamConsistencyReport] = ()  # each monitor instance's newest stream-feature check
    # Per version, over all its joined predictions and its newest: each figure estimated beside the realized
    estimated: Mapping[ModelKey, Sequence[EstimateOver]] = field(default_factory=dict)


def render(inputs: ReportInputs) -> str:
    sections = "\n".join(
        f'<figure id="{name}">{_svg(figure)}<figcaption>{html.escape(FIGURES[name])}</figcaption></figure>'
        for name, figure in figures(inputs).items()
    )
    return _PAGE.format(
        generated=inputs.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        source=html.escape(inputs.source),
        summary=_summary_table(inputs),
        drift=_drift_table(inputs),
        consistency=_consistency_table(inputs),
        estimated=_estimate_table(inputs),
        window=f"{inputs.window:,}",
        drift_window=f"{inputs.drift_window:,}",
        figures=sections,
    )


def save_figures(inputs: ReportInputs, directory: Path, prefix: str) -> list[Path]:
    """The report's figures as PNG files (`<prefix><name>.png`), for pages that cannot hold inline SVG."""
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, figure in figures(inputs).items():
        paths.append(directory / f"{prefix}{name}.png")
        figure.savefig(paths[-1], dpi=110)
        plt.close(figure)
    return paths


def figures(inputs: ReportInputs) -> dict[str, Figure]:
    return {
        "rolling-auc": _rolling_figure(inputs, "roc_auc", "ROC-AUC"),
        "rolling-recall": _rolling_figure(inputs, "recall", "recall"),
        "reliability": _reliability_figure(inputs),
        "psi": _psi_figure(inputs),
        "gate": _gate_figure(inputs),
    }


def _summary_table(inputs: ReportInputs) -> str:
    if not inputs.models:
        return "<p class=empty>No joined predictions yet: the monitor writes them once outcomes arrive.</p>"
    head = (
        "<tr><th>role</th><th>version</th><th>joined</th><th>delayed</th><th>ROC-AUC</th><th>offline ROC-AUC</th>"
        "<th>recall</th><th>offline recall</th><th>precision</th><th>Brier</th><th>ECE</th></tr>"
    )
    rows = []
    for (role, version), model in inputs.models.items():
        m, offline = model.overall(), inputs.offline.get(version, {})
        cells = [
            role, version, f"{m.events:,}", f"{m.actual_delayed_rate:.1%}", _num(m.roc_auc),
            _num(offline.get("roc_auc")), _num(m.recall), _num(offline.get("recall")), _num(m.precision),
            _num(m.brier), _num(m.ece),
        ]  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


ESTIMATE_LABELS = dict(zip(ESTIMATED, ("ROC-AUC", "recall", "precision", "F1", "Brier"), strict=True))


def _estimate_table(inputs: ReportInputs) -> str:
    """What each version's probabilities promised, as if calibrated, beside what the outcomes then said."""
    if not inputs.estimated:
        return "<p class=empty>No joined predictions yet: nothing to set an estimate against.</p>"
    rows, shifted = [], []
    for (role, version), spans in inputs.estimated.items():
        for span in spans:
            over = f"the newest {span.predictions:,}" if span.newest else f"all {span.predictions:,}"
            by_name: dict[str, EstimatedFigure] = {figure.figure: figure for figure in span.figures}
            cells = [f"<td>{html.escape(role)}</td><td>{html.escape(version)}</td><td>{over}</td>"]
            for name in ESTIMATE_LABELS:
                figure = by_name.get(name)
                if figure is None:
                    cells.append("<td>–</td>")
                    continue
                text = f"{figure.estimate:.3f} [{figure.low:.3f}, {figure.high:.3f}] → {_num(figure.realized)}"
                if figure.departs:
                    shifted.append(f"{ESTIMATE_LABELS[name]} of {role} {version} ({over})")
                    cells.append(f'<td class=shift title="beyond chance (0.1 %)">{html.escape(text)} ✱</td>')
                else:
                    cells.append(f"<td>{html.escape(text)}</td>")
            rows.append(f"<tr>{''.join(cells)}</tr>")
    verdict = (
        f"<p class=shift>✱ beyond chance: {html.escape('; '.join(shifted))}. The outcomes are not what these "
        "probabilities promise, whatever the inputs were: the relation between the inputs and the delays has "
        "changed since the version was trained (concept shift), or its probabilities were never calibrated for "
        "flights like these.</p>"
        if shifted
        else "<p>Every ROC-AUC and Brier score is within chance of what the probabilities promised.</p>"
    )
    head = "".join(f"<th>{label}</th>" for label in ESTIMATE_LABELS.values())
    return (
        "<p>Each figure as the probabilities alone promise it (the expectation if they were calibrated, with its "
        "95 % interval: what the monitor can say before any outcome), then as the outcomes realized it, over all "
        f"the joined predictions of each version and, past {inputs.window:,}, over its newest {inputs.window:,} by "
        "departure: the window the monitor's live check reads (<code>flightdelay_monitor_concept_shift</code>, "
        "alert ConceptShift), where a shift that began late is not diluted by what came before it.</p>"
        f"<table><tr><th>role</th><th>version</th><th>predictions</th>{head}</tr>{''.join(rows)}</table>{verdict}"
    )


def _drift_table(inputs: ReportInputs) -> str:
    if not inputs.drift:
        return "<p class=empty>No flight events read, or no reference profile for the champion: no drift figures.</p>"
    last = inputs.drift[-1]
    score = inputs.score_drift[-1].verdicts if inputs.score_drift else []
    rows = []
    for verdict in sorted([*last.verdicts, *score], key=lambda v: -v.psi):
        moved = "; ".join(f"{s.category} {s.reference:.1%} → {s.observed:.1%}" for s in verdict.shifts)
        cells = [verdict.name, f"{verdict.psi:.3f}", f"{verdict.threshold:.3f}", "yes" if verdict.drifting else "no"]
        rows.append(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + f"<td>{html.escape(moved)}</td></tr>"
        )
    when = _date(last.departure_s)
    scored = f"; the score over the champion's last {score[0].events:,} predictions" if score else ""
    return (
        f"<p>The newest window ({last.verdicts[0].events:,} flights up to {when}{scored}) against the reference "
        f"profile of {html.escape(inputs.champion or '?')}:</p><table><tr><th>feature</th><th>PSI</th>"
        f"<th>threshold</th><th>drifting</th><th>categories that moved most</th></tr>{''.join(rows)}</table>"
    )


def _consistency_table(inputs: ReportInputs) -> str:
    """Per stream feature, the values the monitor recomputed and the share that differed from those carried."""
    if not inputs.consistency:
        return "<p class=empty>No version served reads stream features, or none of its predictions joined yet.</p>"
    values = {name: 0 for name in STREAM_FEATURE_NAMES}
    mismatched = dict(values)
    for report in inputs.consistency:
        for feature in report.features:
            values[feature.feature] = values.get(feature.feature, 0) + feature.values
            mismatched[feature.feature] = mismatched.get(feature.feature, 0) + feature.mismatched
    predictions = sum(report.predictions for report in inputs.consistency)
    unchecked = sum(sum(report.unchecked.values()) for report in inputs.consistency)
    rows = []
    for name in sorted(values, key=lambda feature: -mismatched[feature]):  # what differs first, else as defined
        count = values[name]
        rate = f"{mismatched[name] / count:.2%}" if count else "-"
        cells = [name, f"{count:,}", f"{mismatched[name]:,}", rate]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    differ = sum(mismatched.values())
    features = sum(1 for count in mismatched.values() if count)
    # Thirty-odd rows of zeros say nothing the sentence does not: folded unless something differs.
    return (
        f"<p>{predictions:,} joined predictions checked ({unchecked:,} not checked): their stream features "
        f"recomputed by the training definition from the events and outcomes the monitor read, {differ:,} of "
        f"{sum(values.values()):,} values differ.</p><details{' open' if differ else ''}><summary>per feature: "
        f"{features} of {len(values)} differ</summary><table><tr><th>feature</th><th>values checked</th>"
        f"<th>differ</th><th>mismatch rate</th></tr>{''.join(rows)}</table></details>"
    )


def _figure() -> tuple[Figure, Axes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 3.6), layout="constrained")
    return figure, axes


def _rolling_figure(inputs: ReportInputs, metric: str, label: str) -> Figure:
    figure, axes = _figure()
    drawn = False
    for (role, version), points in inputs.rolling.items():
        values = [(p.departure_s, getattr(p.metrics, metric)) for p in points if getattr(p.metrics, metric) is not None]
        if values:
            lines = axes.plot(
                _times([t for t, _ in values]), [y for _, y in values], marker=".", label=f"{role} {version}"
            )
            drawn = True
            offline = inputs.offline.get(version, {}).get(metric)
            if offline is not None:
                axes.axhline(offline, linestyle="--", linewidth=1, color=lines[0].get_color())
    if not drawn:
        _empty(axes, "no joined predictions yet")
    else:
        axes.set_ylabel(f"{label} (last {inputs.window:,} joined)")
        axes.set_xlabel("scheduled departure (dashed: the manifest's test figure)")
        axes.legend(loc="best", fontsize="small")
        _fit_time_axis(axes, [p.departure_s for points in inputs.rolling.values() for p in points])
    return figure


def _reliability_figure(inputs: ReportInputs) -> Figure:
    figure, axes = _figure()
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
    drawn = False
    for (role, version), bins in inputs.reliability.items():
        if bins:
            means, rates = [b.mean_probability for b in bins], [b.delayed_rate for b in bins]
            axes.plot(means, rates, marker="o", label=f"{role} {version}")
            drawn = True
    if not drawn:
        _empty(axes, "no joined predictions yet")
    axes.set_xlabel("mean predicted probability of a delay (10 uniform bins)")
    axes.set_ylabel("share delayed")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.legend(loc="upper left", fontsize="small")
    return figure


def _psi_figure(inputs: ReportInputs) -> Figure:
    figure, axes = _figure()
    if not inputs.drift:
        _empty(axes, "no flight events, or no reference profile")
        return figure
    shown: list[float] = []
    for series in (inputs.drift, inputs.score_drift):
        if not series:
            continue
        times = _times([point.departure_s for point in series])
        shown += [point.departure_s for point in series]
        for position, verdict in enumerate(series[0].verdicts):
            values = [max(point.verdicts[position].psi, PSI_FLOOR) for point in series]
            lines = axes.plot(times, values, marker=".", label=verdict.name)
            flagged = [i for i, point in enumerate(series) if point.verdicts[position].drifting]
            if flagged:
                colour = lines[0].get_color()
                axes.scatter(times[flagged], [values[i] for i in flagged], s=60, facecolors="none", edgecolors=colour)
    axes.axhline(SIGNIFICANT_PSI, linestyle="--", color="grey", linewidth=1)
    axes.set_yscale("log")  # PSI spans decades: 0.001 is noise, 0.2 significant, 1 a new population
    highest = max(v.psi for series in (inputs.drift, inputs.score_drift) for point in series for v in point.verdicts)
    axes.set_ylim(PSI_FLOOR, max(highest, SIGNIFICANT_PSI) * 2)
    axes.set_ylabel(f"PSI (windows of {inputs.drift_window:,}; log)")
    axes.set_xlabel("scheduled departure of the window's last flight")
    axes.set_title(
        f"circled: drifting · dashed: {SIGNIFICANT_PSI} · below {PSI_FLOOR} drawn at {PSI_FLOOR}", fontsize="small"
    )
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    _fit_time_axis(axes, shown)
    return figure


def _gate_figure(inputs: ReportInputs) -> Figure:
    figure, axes = _figure()
    shown = [point for points in inputs.gate.values() for point in points]
    if not shown:
        _empty(axes, "no flight scored by both a champion and a challenger has its outcome yet")
        return figure
    for (champion, challenger), points in inputs.gate.items():
        if not points:
            continue
        times = _times([p.departure_s for p in points])
        lines = axes.plot(times, [p.effect for p in points], marker=".", label=f"{challenger} against {champion}")
        colour = lines[0].get_color()
        axes.fill_between(times, [p.low for p in points], [p.high for p in points], color=colour, alpha=0.2)
        last = points[-1]
        axes.annotate(
            f"{last.verdict} after {last.flights:,} flights", (times[-1], last.effect), fontsize="small",
            xytext=(-4, 8), textcoords="offset points", ha="right", color=colour,
        )  # fmt: skip
    axes.axhline(0, linestyle="--", color="grey", linewidth=1)
    # The first looks' intervals span most of [-1, 1]; the axis shows where decisions happen.
    low = max(min(p.low for p in shown), -GATE_AXIS_LIMIT)
    high = min(max(p.high for p in shown), GATE_AXIS_LIMIT)
    axes.set_ylim(min(low, -0.02) * 1.1, max(high, 0.02) * 1.1)
    axes.set_ylabel("ROC-AUC gain (challenger - champion)")
    axes.set_xlabel(f"scheduled departure of the newest pair (band: the interval, cut at ±{GATE_AXIS_LIMIT})")
    axes.set_title("band above 0: the challenger is better; below 0: worse; across 0: undecided", fontsize="small")
    axes.legend(loc="best", fontsize="small")
    _fit_time_axis(axes, [p.departure_s for p in shown])
    return figure


def _fit_time_axis(axes: Axes, seconds: list[float]) -> None:
    """Limits around the data, never matplotlib's years around a single day, and dates labelled for the span
    (hours for a day, days for a month)."""
    import matplotlib.dates as mdates

    first, last = min(seconds), max(seconds)
    pad = max((last - first) * 0.03, MIN_TIME_PAD_S)
    axes.set_xlim(*_times([first - pad, last + pad]))
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _empty(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, color="grey")
    axes.set_xticks([])
    axes.set_yticks([])


def _svg(figure: Figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # the XML prologue and doctype are not allowed inside HTML


def _times(seconds: list[float]) -> np.ndarray[Any, Any]:
    """Seconds since the epoch as datetimes matplotlib puts on a date axis."""
    return np.asarray(seconds, dtype=np.float64).astype("datetime64[s]")


def _date(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Flight-delay models online</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }}
figure {{ margin: 1.5rem 0; }} figcaption {{ color: #555; font-size: 0.9rem; }}
svg {{ max-width: 100%; height: auto; }} .empty {{ color: #777; }} .shift {{ color: #b00020; }}
</style></head><body>
<h1>Flight-delay models online</h1>
<p>Generated {generated} from {source}. Rolling figures over the last {window} joined predictions of each
version; drift over windows of {drift_window} flight events.</p>
<h2>Each version on the flights whose outcome is known</h2>
{summary}
<h2>Estimated before the outcomes, against what they said</h2>
{estimated}
<h2>Drift</h2>
{drift}
<h2>Stream features, online against offline</h2>
{consistency}
<h2>Figures</h2>
{figures}
</body></html>
"""
