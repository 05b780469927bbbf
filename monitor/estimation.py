"""A model's performance estimated from its own probabilities, before the outcomes exist (confidence-based
performance estimation, as NannyML's CBPE), and the check once they do.

If the model is calibrated, a flight scored p is delayed with probability p, so the expected confusion matrix
at the threshold t is: true positives = sum of p over flights scored at least t, false positives = sum of
(1 - p) over the same, and so on; recall, precision and F1 follow from it, the expected ROC curve from the
cumulative sums of p and 1 - p down the scores, and the expected Brier score is the mean of p (1 - p). The
interval comes from drawing the labels from the probabilities themselves: it is the range the realized figure
falls in when only chance separates it from the estimate.

A realized figure outside that interval says more than input drift: the flights' probabilities were taken into
account, so the relation between the inputs and the delays has changed (concept shift). The estimate depends
only on the probabilities, so computing it when the outcomes are joined gives the one made while they waited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm, rankdata

Array = np.ndarray[Any, Any]
ESTIMATED = ("roc_auc", "recall", "precision", "f1", "brier")
# Threshold-free figures: a shift in them is the concept-shift signal (recall and precision also move when only
# the share of flights near the threshold changes, which is input drift the score already shows).
SHIFT_FIGURES = ("roc_auc", "brier")
LEVEL = 0.95  # the interval shown
# A window is checked at every report, and consecutive windows share most flights, so one unlucky window would
# alarm for days: a shift is called only beyond this many standard deviations (two-sided 0.1 % under the null).
SHIFT_LEVEL = 0.999
SHIFT_Z = float(norm.ppf(1 - (1 - SHIFT_LEVEL) / 2))
DRAWS = 1000  # label draws for the interval: its ends are percentiles, within a few tenths of a point of LEVEL
MIN_DRAWS = 200
MAX_WORK = 20_000_000  # draws x flights of one estimate, unless the caller asks for more draws
MAX_DRAWN_LABELS = 4_000_000  # labels drawn at once (draws x flights)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    spread: float  # the standard deviation of the realized figure if the probabilities are right

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high

    def departs(self, value: float) -> bool:
        """Beyond chance at `SHIFT_LEVEL`: the realized value is not what these probabilities would give."""
        return abs(value - self.estimate) > SHIFT_Z * self.spread


@dataclass(frozen=True)
class PerformanceEstimate:
    """Each estimated figure of `flights` predictions. A figure with nothing to stand on is absent rather than
    zero: ROC-AUC when it cannot be expected (one flight), precision when no flight is flagged."""

    flights: int
    figures: Mapping[str, Interval]

    def shifted(self, realized: Mapping[str, float | None]) -> list[str]:
        """The threshold-free figures whose realized value departs from the estimate beyond chance."""
        return [
            name
            for name in SHIFT_FIGURES
            if (value := realized.get(name)) is not None and name in self.figures and self.figures[name].departs(value)
        ]


def expected_figures(probability: Array, threshold: float) -> dict[str, float]:
    """The figures of the expected confusion matrix (and the expected ROC curve) of calibrated probabilities."""
    p = np.asarray(probability, dtype=np.float64)
    flagged = p >= threshold
    true_positives, false_positives = p[flagged].sum(), (1 - p[flagged]).sum()
    false_negatives = p[~flagged].sum()
    delayed = true_positives + false_negatives
    figures = {
        "recall": true_positives / delayed if delayed else 0.0,
        "f1": 2 * true_positives / (2 * true_positives + false_positives + false_negatives) if delayed else 0.0,
        "brier": float(np.mean(p * (1 - p))),
    }
    if flagged.any():  # the share of flagged flights that are late means nothing when none is flagged
        figures["precision"] = true_positives / (true_positives + false_positives)
    auc = _expected_roc_auc(p)
    if auc is not None:
        figures["roc_auc"] = auc
    return {name: float(figures[name]) for name in ESTIMATED if name in figures}  # in the order people read them


def _expected_roc_auc(p: Array) -> float | None:
    """The area under the ROC curve whose points are the expected true and false positive rates at each score."""
    scores, inverse = np.unique(-p, return_inverse=True)  # highest score first
    positives = np.bincount(inverse, weights=p, minlength=len(scores))
    negatives = np.bincount(inverse, weights=1 - p, minlength=len(scores))
    if positives.sum() <= 0 or negatives.sum() <= 0:
        return None
    tpr = np.r_[0, np.cumsum(positives)] / positives.sum()
    fpr = np.r_[0, np.cumsum(negatives)] / negatives.sum()
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # trapezoids: ties count half, as in the AUC


def simulated_figures(probability: Array, threshold: float, delayed: Array) -> dict[str, Array]:
    """The realized figures of each row of `delayed` (draws x flights, bool): one value per draw (NaN where a
    draw has one class only). With a single row this is the realized figures of real outcomes."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.atleast_2d(np.asarray(delayed, dtype=bool))
    flights = len(p)
    positives = y.sum(axis=1).astype(np.float64)
    negatives = flights - positives
    flagged = p >= threshold
    true_positives = y[:, flagged].sum(axis=1).astype(np.float64)
    ranks = rankdata(p)  # midranks: a tie counts half
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (y @ ranks - positives * (positives + 1) / 2) / (positives * negatives)
        recall = np.where(positives > 0, true_positives / positives, 0.0)
        precision = true_positives / flagged.sum() if flagged.any() else np.zeros(len(y))
        f1 = np.where(positives > 0, 2 * true_positives / (positives + flagged.sum()), 0.0)
    brier = (np.sum(p**2) + y @ (1 - 2 * p)) / flights  # mean of (p - y)^2 with y in {0, 1}
    auc[(positives == 0) | (negatives == 0)] = np.nan
    return {"roc_auc": auc, "recall": recall, "precision": precision, "f1": f1, "brier": brier}


def estimate(
    probability: Array, threshold: float, draws: int | None = None, seed: int = 0
) -> PerformanceEstimate | None:
    """The estimate of each figure with its `LEVEL` interval, or None for no predictions. Seeded: the same
    predictions always give the same interval. A large window needs fewer draws (its figures are close to
    normal) and gets as few as `MIN_DRAWS`, so that the work stays bounded."""
    p = np.asarray(probability, dtype=np.float64)
    if not len(p):
        return None
    draws = draws or int(np.clip(MAX_WORK // len(p), MIN_DRAWS, DRAWS))
    rng = np.random.default_rng(seed)
    per_chunk = max(1, MAX_DRAWN_LABELS // len(p))  # bounded memory, however large the window
    chunks = [
        simulated_figures(p, threshold, rng.random((min(per_chunk, draws - start), len(p))) < p)
        for start in range(0, draws, per_chunk)
    ]
    simulated = {name: np.concatenate([chunk[name] for chunk in chunks]) for name in ESTIMATED}
    tail = (1 - LEVEL) / 2 * 100
    figures = {}
    for name, value in expected_figures(p, threshold).items():
        drawn = simulated[name][~np.isnan(simulated[name])]
        if len(drawn) < draws / 2:
            continue  # most draws hold one class only: no interval worth the name
        low, high = np.percentile(drawn, [tail, 100 - tail])
        figures[name] = Interval(value, float(min(low, value)), float(max(high, value)), float(np.std(drawn)))
    return PerformanceEstimate(len(p), figures)
