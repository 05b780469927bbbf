"""The paired comparison: DeLong's variance against a direct computation, the AUCs against scikit-learn's, and
the always-valid verdict proven by simulation: its error rate under the null when looked at after every batch
(beside the fixed-sample test's, which that many looks inflate), and its power."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, precision_score, recall_score, roc_auc_score

from monitor.comparison import (
    ALPHA,
    Verdict,
    boundary,
    compare_auc,
    compare_brier,
    compare_recall,
    delong,
    fixed_sample_half_width,
)

Array = np.ndarray[Any, Any]


def direct_delong_variance(delayed: Array, a: Array, b: Array) -> float:
    """DeLong, DeLong and Clarke-Pearson (1988) by its definition: the kernel over every (delayed, on-time) pair."""
    positive, negative = delayed == 1, delayed == 0
    components = []
    for scores in (a, b):
        x, y = scores[positive], scores[negative]
        kernel = np.array([[1.0 if xi > yj else 0.5 if xi == yj else 0.0 for yj in y] for xi in x])
        components.append((kernel.mean(axis=1), kernel.mean(axis=0)))
    s10 = np.cov(np.vstack([components[0][0], components[1][0]]))
    s01 = np.cov(np.vstack([components[0][1], components[1][1]]))
    m, n = positive.sum(), negative.sum()
    return float((s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n)


CASES = {
    "small, no ties": (np.array([1, 0, 1, 0, 0, 1, 0]), np.array([0.9, 0.1, 0.4, 0.35, 0.8, 0.7, 0.2]),
                       np.array([0.6, 0.2, 0.5, 0.1, 0.3, 0.9, 0.4])),
    "ties within and across": (np.array([1, 1, 0, 0, 1, 0, 0, 1]), np.array([0.5, 0.5, 0.5, 0.2, 0.8, 0.8, 0.1, 0.3]),
                               np.array([0.3, 0.3, 0.3, 0.3, 0.9, 0.1, 0.1, 0.6])),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_delong_matches_its_definition_and_scikit_learn(case: str) -> None:
    delayed, a, b = CASES[case]
    auc_a, auc_b, variance = delong(delayed, a, b)
    assert (auc_a, auc_b) == pytest.approx((roc_auc_score(delayed, a), roc_auc_score(delayed, b)), abs=1e-12)
    assert variance == pytest.approx(direct_delong_variance(delayed, a, b), abs=1e-12)


def test_delong_on_random_cases_and_a_version_against_itself() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        delayed = (rng.random(40) < 0.3).astype(int)
        delayed[:2], delayed[2:4] = 1, 0
        a, b = rng.integers(0, 6, 40) / 5, rng.random(40)  # a has many ties
        assert delong(delayed, a, b)[2] == pytest.approx(direct_delong_variance(delayed, a, b), abs=1e-12)
    assert delong(delayed, a, a)[2] == pytest.approx(0.0, abs=1e-15)


def test_too_few_flights_of_a_kind_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="two delayed and two on-time"):
        delong(np.array([1, 0, 0]), np.array([0.1, 0.2, 0.3]), np.array([0.3, 0.2, 0.1]))


def test_brier_and_recall_figures_are_scikit_learns() -> None:
    delayed, a, b = CASES["small, no ties"]
    brier = compare_brier(delayed, a, b)
    assert (brier.a, brier.b) == pytest.approx((brier_score_loss(delayed, a), brier_score_loss(delayed, b)))
    assert brier.effect == pytest.approx(brier.a - brier.b)
    recall = compare_recall(delayed, a, b, 0.5, 0.45)
    assert (recall.recall_a, recall.recall_b) == (recall_score(delayed, a >= 0.5), recall_score(delayed, b >= 0.45))
    assert (recall.precision_a, recall.precision_b) == (
        precision_score(delayed, a >= 0.5),
        precision_score(delayed, b >= 0.45),
    )
    assert (recall.only_a, recall.only_b) == (0, 1)  # the delayed flight at 0.4 (a) and 0.5 (b)


def test_the_always_valid_interval_is_wider_than_the_one_look_interval_and_shrinks() -> None:
    widths = [boundary(se) for se in (0.05, 0.02, 0.01, 0.005)]
    assert widths == sorted(widths, reverse=True)
    assert all(boundary(se) > fixed_sample_half_width(se) for se in (0.05, 0.01, 0.002))


def stream(rng: np.random.Generator, flights: int, noise_b: float) -> tuple[Array, Array, Array]:
    """Flights with a true delay log-odds; each version sees it through its own independent noise, so the two
    disagree flight by flight. Equal noise: equal true ROC-AUC (the null). Less noise for b: b is better."""
    latent = rng.normal(-1.3, 1.2, flights)
    delayed = (rng.random(flights) < 1 / (1 + np.exp(-latent))).astype(int)
    a = 1 / (1 + np.exp(-(latent + rng.normal(0, 1.0, flights))))
    b = 1 / (1 + np.exp(-(latent + rng.normal(0, noise_b, flights))))
    return delayed, a, b


LOOKS = range(250, 5001, 250)  # the monitor checks after every batch: 20 looks over 5,000 flights


def first_decision(delayed: Array, a: Array, b: Array) -> tuple[int | None, int | None]:
    """The first look at which the always-valid rule, and the fixed-sample z test, declare a difference."""
    valid = fixed = None
    for flights in LOOKS:
        difference = compare_auc(delayed[:flights], a[:flights], b[:flights])
        if valid is None and difference.verdict is not Verdict.UNDECIDED:
            valid = flights
        if fixed is None and abs(difference.effect) > fixed_sample_half_width(difference.standard_error):
            fixed = flights
        if valid is not None and fixed is not None:
            break
    return valid, fixed


def test_under_the_null_looking_after_every_batch_keeps_the_error_rate_and_a_fixed_test_does_not() -> None:
    rng = np.random.default_rng(2026)
    streams = 1000
    decisions = [first_decision(*stream(rng, max(LOOKS), 1.0)) for _ in range(streams)]
    valid = sum(v is not None for v, _ in decisions) / streams
    fixed = sum(f is not None for _, f in decisions) / streams
    print(f"A/A over {streams} streams, {len(LOOKS)} looks: always-valid {valid:.1%}, fixed-sample z {fixed:.1%}")
    assert valid <= ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / streams)  # at most nominal, within simulation error
    assert fixed > 2 * ALPHA, "a fixed-sample test checked this often declares equal versions different"


def detections(
    rng: np.random.Generator, make: Callable[[int], tuple[Array, Array, Array]], label: str
) -> tuple[list[int | None], list[int]]:
    """When each of 200 streams first decided (None: never), the decided ones, and the printed summary with the
    true ROC-AUC gain measured on one large stream."""
    found = [first_decision(*make(max(LOOKS)))[0] for _ in range(200)]
    detected = [flights for flights in found if flights is not None]
    delayed, a, b = make(200_000)
    gain = roc_auc_score(delayed, b) - roc_auc_score(delayed, a)
    print(
        f"{label} {gain:+.3f} ROC-AUC: detected in {len(detected)} of 200 streams, after a median "
        f"{np.median(detected):,.0f} flights (quartiles {np.percentile(detected, 25):,.0f}-"
        f"{np.percentile(detected, 75):,.0f})"
    )
    return found, detected


def test_a_better_challenger_is_found_and_when() -> None:
    rng = np.random.default_rng(7)
    found, detected = detections(rng, lambda flights: stream(rng, flights, 0.5), "challenger ahead by")
    assert len(detected) >= 0.9 * len(found)
    assert all(compare_auc(*stream(rng, 5000, 0.5)).verdict is not Verdict.WORSE for _ in itertools.repeat(None, 20))


def feature_group_stream(rng: np.random.Generator, flights: int) -> tuple[Array, Array, Array]:
    """A logistic model over three feature groups (airline, hour of day, season; one-hot, as the real model's);
    delays drawn from it. The challenger is the true model; the champion is the same model fed the hour group
    of other flights (that group's column shuffled), so it is worse only by what that one group knows."""
    groups = [rng.normal(0, scale, size) for scale, size in ((0.6, 20), (0.5, 24), (0.4, 12))]
    codes = [rng.integers(0, len(weights), flights) for weights in groups]
    intercept = -1.5
    true = intercept + sum(weights[code] for weights, code in zip(groups, codes, strict=True))
    delayed = (rng.random(flights) < 1 / (1 + np.exp(-true))).astype(int)
    shuffled = true - groups[1][codes[1]] + groups[1][rng.permutation(codes[1])]
    return delayed, 1 / (1 + np.exp(-shuffled)), 1 / (1 + np.exp(-true))


def test_a_champion_with_one_feature_group_shuffled_loses_to_the_true_model_and_when() -> None:
    rng = np.random.default_rng(11)
    found, detected = detections(
        rng, lambda flights: feature_group_stream(rng, flights), "the true model against its hour group shuffled,"
    )
    assert len(detected) >= 0.8 * len(found)
    assert all(compare_auc(*feature_group_stream(rng, 5000)).verdict is not Verdict.WORSE for _ in range(20))
