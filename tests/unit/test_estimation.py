"""Performance estimated from the probabilities: the fast figures agree with the reference ones, the estimate
is the expectation under calibrated labels, its interval covers the realized figure at its level when the labels
come from the model's own probabilities, and a changed relation between inputs and delays is found."""

from __future__ import annotations

from typing import Any, get_args

import numpy as np
import pytest

from monitor.estimation import ESTIMATED, LEVEL, estimate, expected_figures, simulated_figures
from monitor.online_metrics import window_metrics
from schemas.monitoring import EstimatedFigure

Array = np.ndarray[Any, Any]
THRESHOLD = 0.25


def scores(rng: np.random.Generator, flights: int) -> Array:
    """Probabilities shaped like the model's: mostly low, a long tail of likely delays, some ties."""
    return np.round(1 / (1 + np.exp(-rng.normal(-1.5, 1.0, flights))), 3)


def test_simulated_figures_of_real_labels_are_the_online_figures() -> None:
    rng = np.random.default_rng(3)
    p = scores(rng, 3000)
    delayed = rng.random(3000) < p
    fast = simulated_figures(p, THRESHOLD, delayed)
    reference = window_metrics(p, delayed, THRESHOLD)
    for name in ESTIMATED:
        assert fast[name][0] == pytest.approx(getattr(reference, name), abs=1e-12), name


def test_the_estimate_is_what_calibrated_labels_give_on_average() -> None:
    rng = np.random.default_rng(4)
    p = scores(rng, 5000)
    expected = expected_figures(p, THRESHOLD)
    drawn = simulated_figures(p, THRESHOLD, rng.random((2000, len(p))) < p)
    for name in ESTIMATED:
        assert expected[name] == pytest.approx(float(np.mean(drawn[name])), abs=0.002), name


def test_the_estimated_figures_are_those_the_contract_names_in_its_order() -> None:
    assert get_args(EstimatedFigure.model_fields["figure"].annotation) == ESTIMATED


def test_no_predictions_no_estimate_and_one_class_no_roc_auc() -> None:
    assert estimate(np.array([]), THRESHOLD) is None
    single = estimate(np.array([0.3]), THRESHOLD)
    assert single is not None and "roc_auc" not in single.figures and "brier" in single.figures
    certain = estimate(np.zeros(50), THRESHOLD)
    assert certain is not None and "roc_auc" not in certain.figures
    assert certain.figures["brier"].estimate == 0.0


def test_with_no_flight_flagged_precision_is_not_estimated_rather_than_zero() -> None:
    rng = np.random.default_rng(6)
    below = scores(rng, 400) * THRESHOLD * 0.99  # every flight under the threshold
    found = estimate(below, THRESHOLD)
    assert found is not None and "precision" not in found.figures
    assert list(found.figures) == ["roc_auc", "recall", "f1", "brier"]
    one_flagged = estimate(np.r_[below, 0.9], THRESHOLD)
    assert one_flagged is not None and one_flagged.figures["precision"].estimate == pytest.approx(0.9)
    assert list(one_flagged.figures) == list(ESTIMATED)


def test_the_same_predictions_give_the_same_interval_and_a_large_window_is_drawn_in_chunks() -> None:
    rng = np.random.default_rng(5)
    p = scores(rng, 30_000)
    first, second = estimate(p, THRESHOLD, draws=200), estimate(p, THRESHOLD, draws=200)
    assert first == second and first is not None
    assert all(first.figures[name].low < first.figures[name].high for name in ESTIMATED)


def test_the_interval_covers_the_realized_figure_at_its_level_when_labels_follow_the_probabilities() -> None:
    rng = np.random.default_rng(2026)
    windows, flights = 600, 1000
    covered = {name: 0 for name in ESTIMATED}
    flagged = 0
    for window in range(windows):
        p = scores(rng, flights)
        delayed = rng.random(flights) < p
        found = estimate(p, THRESHOLD, seed=window)
        assert found is not None
        realized = {name: float(value[0]) for name, value in simulated_figures(p, THRESHOLD, delayed).items()}
        for name in ESTIMATED:
            covered[name] += found.figures[name].covers(realized[name])
        flagged += bool(found.shifted(realized))
    error = 3 * np.sqrt(LEVEL * (1 - LEVEL) / windows)
    print(
        "coverage:",
        {name: f"{count / windows:.1%}" for name, count in covered.items()},
        f"shift flagged {flagged / windows:.1%}",
    )
    for name, count in covered.items():
        assert count / windows >= LEVEL - error, name
    assert flagged / windows <= 0.01  # two figures checked, each beyond chance 0.1 % of the time


def test_a_changed_relation_between_inputs_and_delays_is_flagged() -> None:
    """The same scores, but delays now follow a flatter relation plus a higher base rate (the November story)."""
    rng = np.random.default_rng(11)
    windows, flights = 200, 2000
    flagged = 0
    for window in range(windows):
        p = scores(rng, flights)
        logit = np.log(p / (1 - p))
        delayed = rng.random(flights) < 1 / (1 + np.exp(-(0.4 * logit - 0.3)))
        found = estimate(p, THRESHOLD, seed=window)
        assert found is not None
        realized = {name: float(value[0]) for name, value in simulated_figures(p, THRESHOLD, delayed).items()}
        flagged += "roc_auc" in found.shifted(realized) or "brier" in found.shifted(realized)
    print(f"concept shift flagged in {flagged} of {windows} windows of {flights:,} flights")
    assert flagged >= 0.9 * windows
