"""The monitor's stream-feature check: values a prediction carried against the training definition's, recomputed
from what the monitor read; an outcome the scorer read too late shows in exactly the features it belongs to."""

from __future__ import annotations

import math

import pytest

from monitor.join import Joined, Outcome, Prediction
from monitor.records import FlightRow
from monitor.stream_consistency import StreamConsistency, differs
from schemas.model_control import ModelRole
from tests.support.stream_history import HeldDepartures, random_outcomes
from training.stream_features import STREAM_FEATURE_NAMES, StreamState
from training.stream_features import Outcome as Departure

T = 5 * 86_400  # the events' moment, inside the synthetic outcomes' span
KEYS = ("LAN", "SCFA", "F-1")


def _joined(flight_id: str, values: tuple[float | None, ...] | None, offset: int = 0) -> Joined:
    prediction = Prediction(flight_id, ModelRole.CHAMPION, "v1", 0.3, 0.2, 0.0, ("p", 0, offset), values)
    return Joined(prediction, Outcome(flight_id, False, 0.0, 0.0, ("o", 0, offset)))


def _as_carried(row: tuple[float, ...]) -> tuple[float | None, ...]:
    """What a prediction's JSON carries: null for nothing known."""
    return tuple(None if math.isnan(v) else v for v in row)


def _checker(source: HeldDepartures, max_events: int = 100) -> StreamConsistency:
    checker = StreamConsistency(source, catch_up_s=0.0, max_events=max_events)
    checker.observe([FlightRow((), 0.0, "f1", T, KEYS), FlightRow((), 0.0, "f2", T + 3600, KEYS)])
    return checker


@pytest.mark.parametrize(
    ("carried", "recomputed", "expected"),
    [
        (None, math.nan, False),
        (None, 0.0, True),
        (3.0, math.nan, True),
        (3.0, 3.0, False),
        (3.0, 3.0000001, True),
        (math.nan, math.nan, False),
    ],
)
def test_values_are_compared_exactly_and_nothing_known_only_equals_nothing_known(
    carried: float | None, recomputed: float, expected: bool
) -> None:
    assert differs(carried, recomputed) is expected


def test_values_scored_with_what_the_definition_says_match_everywhere() -> None:
    outcomes = random_outcomes(400, seed=3)
    scorer = StreamState()
    for outcome in outcomes:
        scorer.add(outcome)
    checker = _checker(HeldDepartures(outcomes))
    joined = [
        _joined(flight, _as_carried(scorer.features_at(t, *KEYS)), offset)
        for offset, (flight, t) in enumerate((("f1", T), ("f2", T + 3600)))
    ]
    counts = checker.check(joined)
    assert counts.predictions == 2
    assert counts.values == dict.fromkeys(STREAM_FEATURE_NAMES, 2)
    assert sum(counts.mismatched.values()) == 0


def test_an_outcome_the_scorer_read_too_late_differs_in_the_windows_that_hold_it() -> None:
    """An outcome known 30 minutes before the event, for another airline's flight to the same destination, reached
    the scorer after it scored: the airport and destination windows differ, the airline's and the flight's not."""
    outcomes = random_outcomes(400, seed=4)
    late = Departure(known_at=T - 1800, airline="SKU", destination="SCFA", flight="F-9", delay_seconds=1200)
    scorer = StreamState()
    for outcome in outcomes:
        scorer.add(outcome)
    carried = _as_carried(scorer.features_at(T, *KEYS))
    checker = _checker(HeldDepartures([*outcomes, late]))
    counts = checker.check([_joined("f1", carried)])
    differing = {name for name, n in counts.mismatched.items() if n}
    assert differing, "the late outcome must show"
    assert all(name.startswith(("airport_", "destination_")) for name in differing), differing
    assert {"airport_1h_count", "destination_1h_count"} <= differing


def test_a_prediction_waits_for_its_event_and_for_the_departures_and_is_checked_once() -> None:
    """The topics are read each at its own pace: a prediction may join before its event is read, or while the
    departures are behind. It waits, is checked when both are there, and leaves the wait once committed."""
    source = HeldDepartures(reachable=False)
    checker = _checker(source)
    nothing = (None,) * len(STREAM_FEATURE_NAMES)
    waiting = checker.check([_joined("f1", nothing, 0), _joined("later", nothing, 1)])
    checker.record(waiting)
    assert not waiting and checker.waiting == 2, "neither checked nor given up while the departures are behind"
    source.reachable = True
    first = checker.check([])
    assert first.predictions == 1 and not first.unchecked, "f1's event is read: checked; 'later' waits for its event"
    assert first.settled == [("p", 0, 0)]
    # a batch that is not committed records nothing: f1 stays waiting and is checked again
    again = checker.check([])
    assert again.predictions == 1
    checker.record(again)
    checker.observe([FlightRow((), 0.0, "later", T, KEYS)])
    last = checker.check([])
    checker.record(last)
    assert last.predictions == 1 and checker.waiting == 0
    assert checker.totals.predictions == 2 and sum(checker.totals.values.values()) == 2 * len(STREAM_FEATURE_NAMES)


def test_predictions_pushed_out_of_the_wait_are_given_up_by_why() -> None:
    checker = _checker(HeldDepartures(reachable=False), max_events=2)
    nothing = (None,) * len(STREAM_FEATURE_NAMES)
    counts = checker.check([_joined("f1", nothing, 0), _joined("gone", nothing, 1), _joined("f2", nothing, 2)])
    assert counts.unchecked == {"departures_behind": 1} and counts.settled == [("p", 0, 0)]
    checker.record(counts)
    counts = checker.check([_joined("f1", nothing, 3)])
    assert counts.unchecked == {"event_not_read": 1}, "the oldest waiting, 'gone', has no event read"
    checker.record(counts)
    assert checker.waiting == 2 and counts.predictions == 0 and sum(counts.values.values()) == 0


def test_versions_without_stream_features_are_left_alone_and_events_held_are_bounded() -> None:
    checker = _checker(HeldDepartures(reachable=False))
    assert not checker.check([_joined("f1", None)])
    checker.observe([FlightRow((), 0.0, f"x{i}", T, KEYS) for i in range(150)])
    assert len(checker._events) == 100 and "x149" in checker._events and "f1" not in checker._events
