"""What the monitor's report shows, computed from the topics as they are now: each model version's joined
predictions over event time (rolling figures, reliability) and the flight events' drift over event time.

Pure functions of parsed records, so unit tests hold them to scikit-learn and to the monitor's own windows;
`monitor.report_page` draws them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.drift import Drift, assess
from monitor.estimate_reports import estimated_figures
from monitor.estimation import estimate
from monitor.online_metrics import CALIBRATION_BINS, WindowMetrics, window_metrics
from monitor.windows import ModelKey
from schemas.monitoring import EstimatedFigure, JoinedPrediction


@dataclass(frozen=True)
class ModelRows:
    """One version's joined predictions, by scheduled departure."""

    threshold: float
    departure_s: np.ndarray[Any, Any]
    probability: np.ndarray[Any, Any]
    delayed: np.ndarray[Any, Any]

    def __len__(self) -> int:
        return len(self.departure_s)

    def overall(self) -> WindowMetrics:
        return window_metrics(self.probability, self.delayed, self.threshold)

    def newest(self, count: int) -> ModelRows:
        """The `count` departing last: by departure, the window the monitor's live figures and checks keep (its
        newest joined, which join in the order their outcomes come, at departure)."""
        return ModelRows(self.threshold, self.departure_s[-count:], self.probability[-count:], self.delayed[-count:])


@dataclass(frozen=True)
class EstimateOver:
    """Each figure estimated from some of a version's joined predictions, beside what their outcomes realized."""

    predictions: int
    newest: bool  # the newest `predictions` by departure (the live check's window), else all of them
    figures: Sequence[EstimatedFigure]


def estimates_over(rows: ModelRows, window: int) -> list[EstimateOver]:
    """Over all of a version's joined predictions and, when it has more than `window`, over its newest `window`:
    a shift that began late is diluted in the first and whole in the second, which the ConceptShift alert reads."""
    spans = [(rows, False), (rows.newest(window), True)] if len(rows) > window else [(rows, False)]
    return [
        EstimateOver(
            len(chosen),
            newest,
            estimated_figures(estimate(chosen.probability, chosen.threshold), chosen.overall().as_dict()),
        )
        for chosen, newest in spans
    ]


def model_rows(joined: Iterable[JoinedPrediction]) -> dict[ModelKey, ModelRows]:
    """Joined records grouped by (role, version), each group sorted by departure (ties keep topic order). A
    version's threshold is that of its last record (it is fixed per version)."""
    grouped: dict[ModelKey, list[JoinedPrediction]] = {}
    for record in joined:
        grouped.setdefault((record.role, record.model_version), []).append(record)
    rows: dict[ModelKey, ModelRows] = {}
    for key, records in sorted(grouped.items()):
        departure = np.array([r.scheduled_departure.timestamp() for r in records], dtype=np.float64)
        order = np.argsort(departure, kind="stable")
        rows[key] = ModelRows(
            threshold=records[-1].threshold,
            departure_s=departure[order],
            probability=np.array([r.delay_probability for r in records], dtype=np.float64)[order],
            delayed=np.array([r.delayed for r in records], dtype=bool)[order],
        )
    return rows


@dataclass(frozen=True)
class RollingPoint:
    """The figures of the `window` joined predictions up to the one departing at `departure_s`."""

    departure_s: float
    metrics: WindowMetrics


def rolling_windows(rows: ModelRows, window: int, step: int | None = None) -> list[slice]:
    """A window sliding along the departures, every `step` predictions (a quarter window by default); a
    version with fewer than `window` joined predictions gets one window of all of them."""
    if not len(rows):
        return []
    size = min(window, len(rows))
    stride = max(step or size // 4, 1)
    ends = list(range(size, len(rows) + 1, stride))
    if ends[-1] != len(rows):
        ends.append(len(rows))  # the newest predictions always count
    return [slice(end - size, end) for end in ends]


def rolling(rows: ModelRows, window: int, step: int | None = None) -> list[RollingPoint]:
    """Figures over each of `rolling_windows`."""
    return [
        RollingPoint(
            float(rows.departure_s[chosen.stop - 1]),
            window_metrics(rows.probability[chosen], rows.delayed[chosen], rows.threshold),
        )
        for chosen in rolling_windows(rows, window, step)
    ]


@dataclass(frozen=True)
class ReliabilityBin:
    """Predictions whose probability fell between lower and upper (an edge belongs to the bin below it, as in
    `calibration_curve`): their mean probability and the share that was delayed."""

    lower: float
    upper: float
    count: int
    mean_probability: float
    delayed_rate: float


def reliability(probability: np.ndarray[Any, Any], delayed: np.ndarray[Any, Any]) -> list[ReliabilityBin]:
    """The reliability diagram's points over uniform bins, as scikit-learn's `calibration_curve` bins them
    (empty bins left out)."""
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    bins = np.searchsorted(edges[1:-1], probability)
    result = []
    for b in range(CALIBRATION_BINS):
        inside = bins == b
        count = int(inside.sum())
        if count:
            result.append(
                ReliabilityBin(
                    float(edges[b]),
                    float(edges[b + 1]),
                    count,
                    float(probability[inside].mean()),
                    float(delayed[inside].mean()),
                )
            )
    return result


@dataclass(frozen=True)
class DriftPoint:
    """Each watched feature's verdict over the `events` flight events departing up to `departure_s`."""

    departure_s: float
    verdicts: list[Drift]


def drift_over_time(
    flights: Sequence[tuple[float, Sequence[str]]],
    names: Sequence[str],
    references: Mapping[str, Mapping[str, float]],
    window: int,
) -> list[DriftPoint]:
    """PSI per feature over consecutive windows of `window` flight events by departure (each window's verdict as
    the monitor's drift watch gives it for a window of that size). The newest window always ends with the newest
    flight and holds `window` of them (overlapping the one before when the count does not divide)."""
    ordered = sorted(flights, key=lambda flight: flight[0])
    size = max(min(window, len(ordered)), 1)
    ends = list(range(size, len(ordered) + 1, size))
    if ends and ends[-1] != len(ordered):
        ends.append(len(ordered))
    points = []
    for end in ends:
        chunk = ordered[end - size : end]
        verdicts = []
        for position, name in enumerate(names):
            if name in references:
                counts = Counter(values[position] for _, values in chunk)
                verdicts.append(assess(name, references[name], counts))
        points.append(DriftPoint(chunk[-1][0], verdicts))
    return points
