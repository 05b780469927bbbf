"""The stream features: one definition, three computations (held one by one, backfilled, brute force) equal."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.support.stream_history import AIRLINES, DESTINATIONS, brute_force, random_outcomes, same_values
from training.stream_features import (
    HOUR,
    LONGEST_WINDOW_SECONDS,
    MISSING_BIN,
    STREAM_FEATURE_NAMES,
    Outcome,
    StreamState,
    backfill,
    bin_edges,
    bin_labels,
)

FEATURE = {name: i for i, name in enumerate(STREAM_FEATURE_NAMES)}


def _backfill(outcomes: list[Outcome], events: list[tuple[int, str, str, str]]) -> np.ndarray:
    return backfill(
        {
            "airline": np.asarray([o.airline for o in outcomes], dtype=object),
            "destination": np.asarray([o.destination for o in outcomes], dtype=object),
            "flight": np.asarray([o.flight for o in outcomes], dtype=object),
        },
        np.asarray([o.known_at for o in outcomes]),
        np.asarray([o.delay_seconds for o in outcomes]),
        {
            "airline": np.asarray([e[1] for e in events], dtype=object),
            "destination": np.asarray([e[2] for e in events], dtype=object),
            "flight": np.asarray([e[3] for e in events], dtype=object),
        },
        np.asarray([e[0] for e in events]),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_held_backfilled_and_brute_force_agree_value_for_value(seed: int) -> None:
    outcomes = random_outcomes(600, seed)
    rng = np.random.default_rng(seed + 100)
    # events at outcome times (the strict edge), a window away from them (the inclusive edge) and anywhere
    times = [o.known_at for o in outcomes[:40]] + [o.known_at + HOUR for o in outcomes[40:80]]
    times += [int(t) for t in rng.integers(0, 11 * 86_400, 80)]
    events = [
        (t, str(rng.choice(AIRLINES)), str(rng.choice(DESTINATIONS)), f"F-{int(rng.integers(0, 7))}") for t in times
    ]
    state = StreamState()
    for outcome in outcomes:
        state.add(outcome)
    filled = _backfill(outcomes, events)
    assert filled.shape == (len(events), len(STREAM_FEATURE_NAMES))
    for row, event in zip(filled, events, strict=True):
        assert same_values(state.features_at(*event), row)
        assert same_values(brute_force(outcomes, *event), row)
    assert np.isnan(filled).any() and not np.isnan(filled).all()  # both defined and undefined values were met


def test_an_outcome_counts_from_the_second_after_it_is_known_until_the_window_has_passed() -> None:
    state = StreamState()
    state.add(Outcome(known_at=10 * HOUR, airline="LAN", destination="SCFA", flight="LA-1", delay_seconds=1200))
    count = FEATURE["airline_1h_count"]
    assert state.features_at(10 * HOUR, "LAN", "SCFA", "LA-1")[count] == 0  # not yet known at its own second
    assert state.features_at(10 * HOUR + 1, "LAN", "SCFA", "LA-1")[count] == 1
    assert state.features_at(11 * HOUR, "LAN", "SCFA", "LA-1")[count] == 1  # [t - 1 h, t) holds it
    assert state.features_at(11 * HOUR + 1, "LAN", "SCFA", "LA-1")[count] == 0
    values = state.features_at(10 * HOUR + 1, "LAN", "SCFA", "LA-1")
    assert values[FEATURE["airline_1h_delayed_share"]] == 1.0
    assert values[FEATURE["airline_1h_mean_delay_minutes"]] == 20.0
    assert values[FEATURE["flight_7d_last_delay_minutes"]] == 20.0
    assert values[FEATURE["flight_7d_last_age_minutes"]] == 1 / 60
    other = state.features_at(10 * HOUR + 1, "SKU", "SCCI", "H2-9")
    assert other[FEATURE["airport_1h_count"]] == 1 and other[FEATURE["airline_1h_count"]] == 0


def test_nothing_known_is_a_defined_value_for_every_feature() -> None:
    values = StreamState().features_at(0, "LAN", "SCFA", "LA-1")
    for name, value in zip(STREAM_FEATURE_NAMES, values, strict=True):
        if name.endswith("_count"):
            assert value == 0, name
        else:
            assert math.isnan(value), name
            assert bin_labels(np.array([value]), [0.0, 1.0])[0] == MISSING_BIN


def test_arrival_order_does_not_matter_and_forgetting_keeps_every_later_answer() -> None:
    outcomes = random_outcomes(400, 9)
    in_order, shuffled = StreamState(), StreamState()
    for outcome in sorted(outcomes, key=lambda o: o.known_at):
        in_order.add(outcome)
    for outcome in outcomes:
        shuffled.add(outcome)
    late = 10 * 86_400
    asked = [(late + i * 977, AIRLINES[i % 3], DESTINATIONS[i % 4], f"F-{i % 6}") for i in range(30)]
    answers = [in_order.features_at(*event) for event in asked]
    assert all(same_values(shuffled.features_at(*event), answer) for event, answer in zip(asked, answers, strict=True))
    shuffled.forget_before(late)
    assert len(shuffled) == sum(o.known_at >= late - LONGEST_WINDOW_SECONDS for o in outcomes) < len(outcomes)
    assert all(same_values(shuffled.features_at(*event), answer) for event, answer in zip(asked, answers, strict=True))


def test_bins_are_training_quantiles_with_a_bin_for_the_undefined() -> None:
    values = np.array([0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, np.nan], dtype=float)
    edges = bin_edges(values, bins=4)
    assert edges == sorted(set(edges)) and len(edges) <= 3
    labels = bin_labels(np.array([-1.0, edges[0], 100.0, np.nan]), edges)
    assert list(labels) == ["b0", "b1", f"b{len(edges)}", MISSING_BIN]  # an edge value goes up
    assert bin_edges(np.array([np.nan])) == []
    assert list(bin_labels(np.array([3.0]), [])) == ["b0"]


def test_the_departures_outlive_the_longest_window_by_a_day() -> None:
    from kafka_common.settings import TopicSettings

    assert TopicSettings().outcomes_retention_ms >= (LONGEST_WINDOW_SECONDS + 24 * HOUR) * 1000
