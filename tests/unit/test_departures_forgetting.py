"""The departures table forgets by event time only once the wall clock agrees: an event read late, days behind
the newest in a replay's compressed time, still finds every outcome its windows need."""

from __future__ import annotations

import numpy as np

from tests.support.stream_history import AIRLINES, DESTINATIONS, random_outcomes
from training.departures_table import KEEP_FOR_S, OUT_OF_ORDER_SECONDS, DeparturesTable
from training.stream_features import LONGEST_WINDOW_SECONDS, StreamState

DAY = 86_400


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_an_event_read_late_finds_what_it_needs_until_the_wall_clock_passes_the_bound() -> None:
    outcomes = random_outcomes(600, 3, span_seconds=40 * DAY)
    clock = Clock()
    table = DeparturesTable({}, "departures", clock)  # features() needs no broker
    reference = StreamState()
    for outcome in outcomes:
        table.state.add(outcome)
        reference.add(outcome)
    key = (AIRLINES[0], DESTINATIONS[0], "F-1")
    newest, late = 40 * DAY, 20 * DAY  # the late event is 20 days behind: more than the event-time bound
    assert newest - late > OUT_OF_ORDER_SECONDS

    table.features([newest], [key])
    clock.now += KEEP_FOR_S / 2  # a few seconds of a replay: the late one is still answered in full
    answer = table.features([late], [key])[0]
    assert np.array_equal(answer, np.asarray(reference.features_at(late, *key)), equal_nan=True)
    assert len(table.state) == len(outcomes)

    clock.now += KEEP_FOR_S  # past the wall-clock bound: the event-time one forgets
    table.features([newest], [key])
    held = sum(o.known_at >= newest - OUT_OF_ORDER_SECONDS - LONGEST_WINDOW_SECONDS for o in outcomes)
    assert len(table.state) == held < len(outcomes)
    assert np.array_equal(
        table.features([newest], [key])[0], np.asarray(reference.features_at(newest, *key)), equal_nan=True
    )


def test_the_newest_moment_is_any_moment_the_table_holds() -> None:
    """Moments run from year 1 to 9999: one at or before 1970 is an event like any other, not "none yet"."""
    table = DeparturesTable({}, "departures", Clock())
    assert table.newest_departure_age_s() is None
    table.asked([-10 * DAY])
    assert table.newest_departure_age_s() == float("inf")  # an event, and no departure read
    table.asked([-20 * DAY])
    table.counts.newest_departure = -12 * DAY  # what reading an outcome that departed then sets
    assert table.newest_departure_age_s() == 2 * DAY
