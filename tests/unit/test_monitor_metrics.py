"""A figure that is not defined this time has no sample: a gauge holding the last window's value would show it as
this window's."""

from __future__ import annotations

from monitor.metrics import MonitorMetrics
from schemas.monitoring import EstimatedFigure

LABELS = {"role": "champion", "version": "v1", "basis": "waiting"}


def figure(name: str, value: float) -> EstimatedFigure:
    return EstimatedFigure(figure=name, estimate=value, low=value - 0.1, high=value + 0.1)


def test_an_estimate_without_precision_removes_the_last_precision_and_keeps_the_rest() -> None:
    metrics = MonitorMetrics()
    sample = metrics.registry.get_sample_value
    metrics.estimated("champion", "v1", "waiting", [figure("precision", 0.4), figure("recall", 0.5)])
    assert sample("flightdelay_model_estimated", {**LABELS, "figure": "precision"}) == 0.4

    metrics.estimated("champion", "v1", "waiting", [figure("recall", 0.6)])  # nothing flagged this time

    for name in ("flightdelay_model_estimated", "flightdelay_model_estimated_low", "flightdelay_model_estimated_high"):
        assert sample(name, {**LABELS, "figure": "precision"}) is None, name
    assert sample("flightdelay_model_estimated", {**LABELS, "figure": "recall"}) == 0.6
    metrics.estimated("champion", "v2", "waiting", [])  # a version never estimated: nothing to remove, no error
