"""The estimates as the monitor publishes them: a window's estimate beside its realized figures, and each
version's estimate over its newest predictions still waiting."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from monitor.estimate_reports import estimated_figures, waiting_estimates
from monitor.estimation import estimate
from monitor.join import JoinState, Prediction
from monitor.online_metrics import window_metrics
from schemas.model_control import ModelRole
from schemas.monitoring import MODEL_METRICS_RECORD, PerformanceEstimateReport

NOW = datetime(2017, 11, 1, tzinfo=UTC)


def prediction(flight: int, role: ModelRole, version: str, probability: float) -> Prediction:
    return Prediction(f"f{flight}", role, version, probability, 0.3, 1e9 + flight * 60, ("p", 0, flight))


def test_a_window_whose_delays_follow_its_probabilities_departs_in_nothing_and_a_shifted_one_does() -> None:
    rng = np.random.default_rng(1)
    p = 1 / (1 + np.exp(-rng.normal(-1.5, 1.0, 2000)))
    found = estimate(p, 0.3)
    calibrated = window_metrics(p, rng.random(2000) < p, 0.3).as_dict()
    shifted = window_metrics(p, rng.random(2000) < 0.5, 0.3).as_dict()  # delays no longer follow the score
    as_expected = {f.figure: f for f in estimated_figures(found, calibrated)}
    moved = {f.figure: f for f in estimated_figures(found, shifted)}
    assert set(as_expected) == {"roc_auc", "recall", "precision", "f1", "brier"}
    assert as_expected["roc_auc"].realized == calibrated["roc_auc"]
    assert [f for f, row in as_expected.items() if row.departs] == []
    assert moved["roc_auc"].departs and moved["brier"].departs
    assert moved["recall"].departs is None  # judged on the threshold-free figures only
    assert estimated_figures(None, calibrated) == []


def test_each_version_is_estimated_on_its_newest_waiting_predictions() -> None:
    states = [JoinState(3600.0), JoinState(3600.0)]
    for flight in range(300):
        states[flight % 2].add_prediction(prediction(flight, ModelRole.CHAMPION, "v1", 0.1 + (flight % 7) / 10))
        if flight % 3 == 0:
            states[flight % 2].add_prediction(prediction(flight, ModelRole.CHALLENGER, "v2", 0.2))
    reports = waiting_estimates(states, newest=250, now=NOW)
    assert [(r.role, r.model_version, r.waiting) for r in reports] == [
        (ModelRole.CHALLENGER, "v2", 100),
        (ModelRole.CHAMPION, "v1", 250),
    ]
    champion = {f.figure: f for f in reports[1].figures}
    newest = np.array([0.1 + (flight % 7) / 10 for flight in range(50, 300)])
    assert champion["brier"].estimate == np.mean(newest * (1 - newest))
    assert all(f.realized is None and f.departs is None for f in champion.values())
    assert "roc_auc" in {f.figure for f in reports[0].figures}  # one score for all: an AUC of 0.5, expected
    record = MODEL_METRICS_RECORD.validate_json(reports[0].model_dump_json())
    assert isinstance(record, PerformanceEstimateReport) and record == reports[0]
    assert waiting_estimates([JoinState(3600.0)], newest=250, now=NOW) == []
