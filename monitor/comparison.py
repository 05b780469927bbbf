"""The paired comparison of two versions on the same flights: which is better, by how much, how sure.

Champion and challenger score every event in the same transaction, so once outcomes are joined each flight is
a paired observation. The ROC-AUC difference carries DeLong's paired variance (structural components from the
midranks, Sun & Xu 2014); the Brier difference is the mean of per-flight differences of squared errors; recall
is compared by McNemar's exact test on the delayed flights (each version at its own threshold).

The monitor looks after every batch, so a fixed-sample test would find a difference by chance on most long
streams. The verdicts here are always valid: a normal-mixture confidence sequence (Howard, Ramdas, McAuliffe
and Sekhon 2021) on each difference, whose coverage holds at every look at once. `tests/unit/test_comparison.py`
shows its error rate under the null over 1,000 simulated streams, the fixed-sample test's beside it, and its
power.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import numpy as np
from scipy.stats import binomtest, rankdata

ALPHA = 0.05
# The confidence sequence is tightest near this information (1 / variance of the difference); an AUC difference
# estimated with a standard error of 0.01 (a few thousand flights here) is where a decision is expected.
TUNED_STANDARD_ERROR = 0.01

Array = np.ndarray[Any, Any]
Figure = Literal["roc_auc", "brier"]


class Verdict(StrEnum):
    BETTER = "better"  # the challenger (b) is better than the champion (a)
    WORSE = "worse"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class Difference:
    """One figure's difference b - a (challenger minus champion, signed so that positive is better for b)."""

    figure: Figure
    a: float
    b: float
    effect: float
    standard_error: float
    low: float  # the always-valid interval of the effect at this look
    high: float
    verdict: Verdict
    flights: int


def delong(delayed: Array, a: Array, b: Array) -> tuple[float, float, float]:
    """ROC-AUC of `a` and of `b` on the same flights, and the variance of their difference (DeLong)."""
    positive, negative = delayed.astype(bool), ~delayed.astype(bool)
    m, n = int(positive.sum()), int(negative.sum())
    if m < 2 or n < 2:
        raise ValueError(f"DeLong needs two delayed and two on-time flights, got {m} and {n}")
    aucs, v10, v01 = [], [], []
    for scores in (a, b):
        x, y = scores[positive], scores[negative]
        tx, ty, tz = rankdata(x), rankdata(y), rankdata(np.concatenate([x, y]))
        auc = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
        aucs.append(float(auc))
        v10.append((tz[:m] - tx) / n)  # per delayed flight: share of on-time flights it outranks
        v01.append(1.0 - (tz[m:] - ty) / m)  # per on-time flight: share of delayed flights that outrank it
    s10, s01 = np.cov(np.vstack(v10)), np.cov(np.vstack(v01))
    contrast = np.array([-1.0, 1.0])
    variance = float(contrast @ s10 @ contrast / m + contrast @ s01 @ contrast / n)
    return aucs[0], aucs[1], max(variance, 0.0)


def boundary(standard_error: float, alpha: float = ALPHA) -> float:
    """Half-width of the normal-mixture confidence sequence for an estimate with this standard error."""
    if standard_error <= 0:
        return 0.0
    information = 1.0 / standard_error**2
    log_alpha = math.log(1 / alpha)
    rho = (1.0 / TUNED_STANDARD_ERROR**2) / (2 * log_alpha + math.log(1 + 2 * log_alpha))
    radius = math.sqrt((information + rho) * math.log((information + rho) / (rho * alpha**2)))
    return radius / information


def fixed_sample_half_width(standard_error: float, alpha: float = ALPHA) -> float:
    """The ordinary z interval, valid for one look only: what `boundary` replaces."""
    return 1.959963984540054 * standard_error if alpha == ALPHA else float("nan")


def _difference(figure: Figure, a: float, b: float, effect: float, se: float, flights: int) -> Difference:
    half = boundary(se)
    low, high = effect - half, effect + half
    verdict = Verdict.BETTER if low > 0 else Verdict.WORSE if high < 0 else Verdict.UNDECIDED
    return Difference(figure, a, b, effect, se, low, high, verdict, flights)


def compare_auc(delayed: Array, a: Array, b: Array) -> Difference:
    auc_a, auc_b, variance = delong(delayed, a, b)
    return _difference("roc_auc", auc_a, auc_b, auc_b - auc_a, math.sqrt(variance), len(delayed))


def compare_brier(delayed: Array, a: Array, b: Array) -> Difference:
    """Positive effect: b's Brier score is lower (better) than a's."""
    y = delayed.astype(float)
    terms = (a - y) ** 2 - (b - y) ** 2
    se = float(terms.std(ddof=1) / math.sqrt(len(terms))) if len(terms) > 1 else float("inf")
    brier_a, brier_b = float(((a - y) ** 2).mean()), float(((b - y) ** 2).mean())
    return _difference("brier", brier_a, brier_b, float(terms.mean()), se, len(terms))


@dataclass(frozen=True)
class RecallComparison:
    """Recall of each version at its own threshold on the delayed flights, McNemar's exact test on the
    discordant ones (a fixed-sample p-value: reported, not a gate), and each version's precision."""

    recall_a: float
    recall_b: float
    only_a: int  # delayed flights a flags and b misses
    only_b: int
    p_value: float
    precision_a: float | None
    precision_b: float | None


def compare_recall(delayed: Array, a: Array, b: Array, threshold_a: float, threshold_b: float) -> RecallComparison:
    y = delayed.astype(bool)
    flag_a, flag_b = a >= threshold_a, b >= threshold_b
    only_a, only_b = int((flag_a & ~flag_b & y).sum()), int((flag_b & ~flag_a & y).sum())
    discordant = only_a + only_b
    p_value = binomtest(only_b, discordant, 0.5).pvalue if discordant else 1.0
    positives = max(int(y.sum()), 1)
    return RecallComparison(
        float((flag_a & y).sum() / positives),
        float((flag_b & y).sum() / positives),
        only_a,
        only_b,
        float(p_value),
        float((flag_a & y).sum() / flag_a.sum()) if flag_a.any() else None,
        float((flag_b & y).sum() / flag_b.sum()) if flag_b.any() else None,
    )
