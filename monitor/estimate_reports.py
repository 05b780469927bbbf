"""The monitor's estimates as records: each window's figures estimated from its probabilities beside the
realized ones, and each version's estimate on the predictions still waiting for an outcome."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import numpy as np

from monitor.estimation import SHIFT_FIGURES, PerformanceEstimate, estimate
from monitor.join import JoinState, Prediction
from schemas.model_control import ModelRole
from schemas.monitoring import EstimatedFigure, PerformanceEstimateReport


def estimated_figures(
    found: PerformanceEstimate | None, realized: Mapping[str, Any] | None = None
) -> list[EstimatedFigure]:
    """The estimate's figures; with `realized`, each beside its realized value and, for the threshold-free
    figures, whether it departs from the estimate beyond chance."""
    if found is None:
        return []
    rows = []
    for name, interval in found.figures.items():
        value = realized.get(name) if realized is not None else None
        departs = interval.departs(value) if value is not None and name in SHIFT_FIGURES else None
        rows.append(
            EstimatedFigure(
                figure=name,
                estimate=interval.estimate,
                low=interval.low,
                high=interval.high,
                realized=value,
                departs=departs,
            )
        )
    return rows


def waiting_estimates(states: Iterable[JoinState], newest: int, now: datetime) -> list[PerformanceEstimateReport]:
    """Per (role, version), the estimate over its `newest` waiting predictions (by scheduled departure)."""
    waiting: dict[tuple[ModelRole, str], list[Prediction]] = defaultdict(list)
    for state in states:
        for predictions in state.waiting.values():
            for prediction in predictions:
                waiting[(prediction.role, prediction.version)].append(prediction)
    reports = []
    for (role, version), predictions in sorted(waiting.items()):
        chosen = sorted(predictions, key=lambda p: p.departure_s)[-newest:]
        probability = np.array([p.probability for p in chosen])
        reports.append(
            PerformanceEstimateReport(
                role=role,
                model_version=version,
                waiting=len(chosen),
                figures=estimated_figures(estimate(probability, chosen[-1].threshold)),
                reported_at=now,
            )
        )
    return reports
