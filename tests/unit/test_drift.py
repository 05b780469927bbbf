"""Drift: the PSI, its size-aware threshold, the window, the reference profile, and the temporal split's story."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date
from itertools import islice

import numpy as np
import pytest

from monitor.drift import FLOOR, MIN_EVENTS, CategoryWindow, assess, chi2_quantile, psi, psi_threshold
from producer.replay import dataset_flights
from tests.support.dataset import DATASET
from training.dataset import load_flights
from training.features import flight_features
from training.lookup import ServingModel
from training.reference import DRIFT_FEATURES, SCORE_BINS, drift_row, reference_profile, score_bin


@pytest.mark.parametrize(
    ("reference", "counts", "expected"),
    [
        ({"a": 0.5, "b": 0.5}, {"a": 50, "b": 50}, 0.0),
        (
            {"a": 0.5, "b": 0.5},
            {"a": 80, "b": 20},
            (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5),
        ),
        # A category the reference never saw counts against the floor, not against zero.
        ({"a": 1.0}, {"a": 90, "new": 10}, (0.9 - 1.0) * math.log(0.9) + (0.1 - FLOOR) * math.log(0.1 / FLOOR)),
        # A reference category that no event showed counts as half an event.
        ({"a": 0.8, "b": 0.2}, {"a": 100}, 0.2 * math.log(1 / 0.8) + (0.005 - 0.2) * math.log(0.005 / 0.2)),
        ({"a": 1.0}, {}, 0.0),
    ],
)
def test_psi(reference: dict[str, float], counts: dict[str, int], expected: float) -> None:
    assert psi(reference, counts)[0] == pytest.approx(expected, abs=1e-12)
    assert len(psi(reference, counts)[1]) <= 3


def test_the_categories_that_moved_most_come_first() -> None:
    _, shifts, _ = psi({"a": 0.4, "b": 0.4, "c": 0.2}, {"a": 40, "b": 10, "c": 50})
    assert [s.category for s in shifts] == ["b", "c", "a"]  # 0.4 -> 0.1 weighs more than 0.2 -> 0.5
    assert (shifts[0].reference, shifts[0].observed) == (0.4, 0.1)


def test_rare_categories_are_compared_as_one_bucket() -> None:
    """20 events cannot say much about a category of 1 %: pooled with the other rare ones, and named if it moves."""
    reference = {"big": 0.9, "r1": 0.05, "r2": 0.05}
    value, shifts, buckets = psi(reference, {"big": 18, "r1": 2})
    assert buckets == 2 and value == pytest.approx(0.0, abs=1e-12)
    value, shifts, buckets = psi(reference, {"big": 10, "new": 10})
    assert value > 0.5 and shifts[0].category == "new"


@pytest.mark.parametrize(("degrees", "exact"), [(1, 10.828), (9, 27.877), (23, 49.728), (100, 149.449)])
def test_the_chi_squared_quantile_is_close_enough_for_a_threshold(degrees: int, exact: float) -> None:
    assert chi2_quantile(degrees) == pytest.approx(exact, rel=0.05)


@pytest.mark.parametrize(
    ("categories", "events", "expected"),
    [
        (24, 100, chi2_quantile(23) / 100),  # a small window: chance alone gives large values
        (24, 200, chi2_quantile(23) / 200),
        (24, 100_000, 0.2),  # a large one: the usual reading
        (2, 10_000, 0.2),
    ],
)
def test_the_threshold_follows_the_window_size(categories: int, events: int, expected: float) -> None:
    assert psi_threshold(categories, events) == pytest.approx(expected)


def test_a_handful_of_events_never_drifts() -> None:
    few = assess("airline", {"a": 0.99, "b": 0.01}, {"b": MIN_EVENTS - 1})
    assert few.psi > 1 and not few.drifting
    enough = assess("airline", {"a": 0.99, "b": 0.01}, {"b": MIN_EVENTS})
    assert enough.drifting and "b 1.0% -> 100.0%" in enough.describe()


@pytest.mark.parametrize("events", [MIN_EVENTS, 1_000, 5_000])
def test_the_reference_population_itself_seldom_alarms(events: int) -> None:
    """2,000 windows drawn from a reference with shares from 0.1 % to 20 %: false alarms stay below 0.5 % at
    every window size (the threshold aims at 0.1 %)."""
    rng = np.random.default_rng(events)
    shares = rng.dirichlet(np.ones(24))
    reference = {str(i): float(s) for i, s in enumerate(shares)}
    alarms = 0
    for _ in range(2_000):
        counts = rng.multinomial(events, shares)
        alarms += assess("hour", reference, {str(i): int(c) for i, c in enumerate(counts) if c}).drifting
    assert alarms <= 10, alarms


def test_the_window_counts_only_its_last_rows() -> None:
    window = CategoryWindow(("a", "b"), size=3)
    rows = [("x", "1"), ("y", "1"), ("x", "2"), ("z", "2"), ("x", "2")]
    for row in rows:
        window.add(row)
    assert len(window) == 3
    assert window.counts == {"a": Counter({"x": 2, "z": 1}), "b": Counter({"2": 3})}


def test_training_records_the_reference_profile(serving_model: ServingModel) -> None:
    profile = serving_model.manifest.reference
    assert profile is not None
    assert set(profile.features) == set(DRIFT_FEATURES)
    for shares in profile.features.values():
        assert sum(shares.values()) == pytest.approx(1)
    assert profile.score_edges == sorted(profile.score_edges) and len(profile.score_edges) == SCORE_BINS - 1
    assert profile.score_shares == pytest.approx([1 / SCORE_BINS] * SCORE_BINS, abs=0.02)  # deciles
    assert score_bin(profile.score_edges, 0.0) == "0" and score_bin(profile.score_edges, 1.0) == str(SCORE_BINS - 1)


def _rows(start: date, end: date, limit: int) -> list[tuple[str, ...]]:
    """Events of the dataset as the monitor reads them: their features by the same definitions, then the
    drift-watched ones."""
    flights = dataset_flights(DATASET, date_from=start, date_to=end)
    return [
        drift_row(flight_features(e.local_departure, e.airline_name, e.flight_type, e.destination, e.airline_code,
                                  e.flight_number))
        for _, e in islice(flights, limit)
    ]  # fmt: skip


def test_november_and_december_drift_from_a_january_to_october_reference() -> None:
    """The temporal split's story: the months a model never saw drift, named; the season follows. A window of the
    reference's own months, read in order (so one month at a time), drifts in the month too: a window that is
    not a sample of the year is a real shift in what the model is asked about."""
    frame = load_flights(DATASET)
    early = frame[frame["Fecha-I"].dt.month <= 10]
    profile = reference_profile(early, np.linspace(0, 1, 100))
    window = CategoryWindow(DRIFT_FEATURES, 5_000)
    for row in _rows(date(2017, 11, 1), date(2017, 12, 31), 5_000):
        window.add(row)
    verdicts = {d.name: d for d in window.assess(profile.features)}
    assert verdicts["month"].drifting and {s.category for s in verdicts["month"].shifts} >= {"11"}
    assert verdicts["month"].psi > 5
    assert not verdicts["flight_type"].drifting, "the international share stays"


def test_a_sample_of_the_reference_population_does_not_drift() -> None:
    """Every other flight of the year as the reference, the others as the stream (shuffled as a day's mix)."""
    frame = load_flights(DATASET)
    reference = reference_profile(frame.iloc[::2], np.linspace(0, 1, 100))
    rows = _rows(date(2017, 1, 1), date(2017, 12, 31), 70_000)[1::2]
    rng = np.random.default_rng(7)
    window = CategoryWindow(DRIFT_FEATURES, 5_000)
    for index in rng.permutation(len(rows))[:5_000]:
        window.add(rows[index])
    drifting = [d.describe() for d in window.assess(reference.features) if d.drifting]
    assert not drifting
