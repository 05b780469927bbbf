"""How well a model did on the flights whose outcome is known: the figures of a window of joined predictions.

Pure numpy, so the monitor needs no scikit-learn; `tests/unit/test_online_metrics.py` holds every figure equal
to scikit-learn's on the same rows (ROC-AUC, average precision as PR-AUC, recall, precision and F1 at the
model's threshold, Brier score, and the expected calibration error over `calibration_curve`'s uniform bins).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

CALIBRATION_BINS = 10


@dataclass(frozen=True)
class WindowMetrics:
    """Figures of one window; a rank figure is None while the window holds only one class."""

    events: int
    delayed: int
    roc_auc: float | None
    pr_auc: float | None
    recall: float
    precision: float
    f1: float
    brier: float
    ece: float
    mean_probability: float
    predicted_delayed_rate: float
    actual_delayed_rate: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def window_metrics(probability: np.ndarray[Any, Any], actual: np.ndarray[Any, Any], threshold: float) -> WindowMetrics:
    """`probability` of a delay and `actual` delays (bool) of the same flights; decisions at `threshold`."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(actual, dtype=bool)
    n, positives = len(p), int(y.sum())
    predicted = p >= threshold
    true_positives = int((predicted & y).sum())
    recall = true_positives / positives if positives else 0.0
    precision = true_positives / int(predicted.sum()) if predicted.any() else 0.0
    both = recall + precision
    return WindowMetrics(
        events=n,
        delayed=positives,
        roc_auc=roc_auc(p, y),
        pr_auc=average_precision(p, y),
        recall=recall,
        precision=precision,
        f1=2 * recall * precision / both if both else 0.0,
        brier=float(np.mean((p - y) ** 2)) if n else 0.0,
        ece=expected_calibration_error(p, y),
        mean_probability=float(p.mean()) if n else 0.0,
        predicted_delayed_rate=float(predicted.mean()) if n else 0.0,
        actual_delayed_rate=positives / n if n else 0.0,
    )


def roc_auc(p: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> float | None:
    """The chance that a delayed flight scores above an on-time one (ties count half): Mann-Whitney U."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if not positives or not negatives:
        return None
    _, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    first_rank = np.cumsum(counts) - counts + 1
    average_rank = first_rank + (counts - 1) / 2  # tied scores share their ranks
    rank_sum = float(average_rank[inverse][y].sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def average_precision(p: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> float | None:
    """Precision averaged over the recall gained at each distinct score, highest first (PR-AUC)."""
    positives = int(y.sum())
    if not positives or positives == len(y):
        return None
    order = np.argsort(-p, kind="mergesort")
    scores, hits = p[order], y[order]
    last_of_score = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_positives = np.cumsum(hits)[last_of_score]
    precision = true_positives / (last_of_score + 1)
    recall_gained = np.diff(np.r_[0, true_positives]) / positives
    return float(np.sum(recall_gained * precision))


def expected_calibration_error(p: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> float:
    """Share-weighted gap between mean probability and delay rate over uniform bins (as `calibration_curve`)."""
    if not len(p):
        return 0.0
    bins = np.searchsorted(np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)[1:-1], p)
    gap = np.abs(
        np.bincount(bins, weights=y.astype(np.float64), minlength=CALIBRATION_BINS)
        - np.bincount(bins, weights=p, minlength=CALIBRATION_BINS)
    )
    return float(gap.sum() / len(p))  # = sum over bins of (count / n) * |rate - mean probability|
