"""The monitor's window figures equal scikit-learn's on the same rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from monitor.online_metrics import CALIBRATION_BINS, WindowMetrics, window_metrics


def offline(p: np.ndarray[Any, Any], y: np.ndarray[Any, Any], threshold: float) -> dict[str, Any]:
    """The same figures, computed by scikit-learn."""
    predicted = p >= threshold
    two_classes = 0 < y.sum() < len(y)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=CALIBRATION_BINS, strategy="uniform")
    counts = np.bincount(np.searchsorted(np.linspace(0, 1, CALIBRATION_BINS + 1)[1:-1], p))
    counts = counts[counts > 0]
    return {
        "roc_auc": roc_auc_score(y, p) if two_classes else None,
        "pr_auc": average_precision_score(y, p) if two_classes else None,
        "recall": recall_score(y, predicted, zero_division=0),
        "precision": precision_score(y, predicted, zero_division=0),
        "f1": f1_score(y, predicted, zero_division=0),
        "brier": brier_score_loss(y, p),
        "ece": float(np.sum(counts / len(p) * np.abs(prob_true - prob_pred))),
        "actual_delayed_rate": float(y.mean()),
        "predicted_delayed_rate": float(predicted.mean()),
        "mean_probability": float(p.mean()),
    }


def assert_equal(ours: WindowMetrics, theirs: dict[str, Any]) -> None:
    for name, expected in theirs.items():
        value = getattr(ours, name)
        if expected is None:
            assert value is None, name
        else:
            assert value == pytest.approx(expected, rel=1e-9, abs=1e-12), name


# Probabilities on a coarse grid make ties, which is where rank figures go wrong.
windows = st.integers(1, 300).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 40).map(lambda k: k / 40), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
        st.sampled_from([0.2, 0.25, 0.5]),
    )
)


@settings(max_examples=400, deadline=None)
@given(windows)
def test_generated_windows(window: tuple[list[float], list[bool], float]) -> None:
    p, y, threshold = np.array(window[0]), np.array(window[1]), window[2]
    assert_equal(window_metrics(p, y, threshold), offline(p, y, threshold))


def test_the_models_own_predictions_on_the_dataset(model: Any, model_dir: Any) -> None:
    from tests.support.streaming import dataset_rows
    from training.dataset import LABEL
    from training.features import records_to_frame

    rows = dataset_rows(5_000, start=20_000)
    p = model.pipeline.predict_proba(records_to_frame(rows))[:, 1]
    frame_labels = np.array(
        [(np.datetime64(r["Fecha-O"]) - np.datetime64(r["Fecha-I"])) > np.timedelta64(15, "m") for r in rows]
    )
    assert LABEL == "delay_15"
    ours = window_metrics(p, frame_labels, model.threshold)
    assert_equal(ours, offline(p, frame_labels, model.threshold))
    assert 0.6 < (ours.roc_auc or 0) < 0.9


def test_empty_and_one_class_windows_say_so() -> None:
    empty = window_metrics(np.array([]), np.array([], dtype=bool), 0.5)
    assert (empty.events, empty.roc_auc, empty.brier) == (0, None, 0.0)
    only_on_time = window_metrics(np.array([0.1, 0.7]), np.array([False, False]), 0.5)
    assert (only_on_time.roc_auc, only_on_time.pr_auc, only_on_time.recall) == (None, None, 0.0)
