"""Outcome events: one definition of "delayed" with training's label, and a replay that sends them later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from pydantic import ValidationError

from producer.replay import dataset_flights, with_outcomes
from schemas.flight_event import SANTIAGO
from schemas.outcome import FlightOutcome
from tests.support.dataset import DATASET
from training.dataset import LABEL, load_flights


def test_every_dataset_flight_gets_the_label_training_gives_it() -> None:
    frame = load_flights(DATASET)
    flights = list(dataset_flights(DATASET))
    outcomes = [
        FlightOutcome.of(event.resolved_id(), event.scheduled_departure, datetime.fromisoformat(row["Fecha-O"]))
        for row, event in flights
    ]
    assert [int(o.delayed) for o in outcomes] == frame[LABEL].tolist()


def test_delay_is_counted_on_santiagos_clocks_as_the_label_is() -> None:
    """2017-05-14 00:00 local: clocks went back to 23:00. 23:50 -> 00:20 is 30 wall-clock minutes."""
    outcome = FlightOutcome.of("X", datetime(2017, 5, 13, 23, 50), datetime(2017, 5, 14, 0, 20))
    assert (outcome.delay_minutes, outcome.delayed) == (30.0, True)
    assert outcome.actual_departure.utcoffset() == timedelta(hours=-4)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"delay_minutes": 3.0}, "minutes apart"), ({"delayed": True}, "delayed must be delay_minutes > 15")],
)
def test_an_inconsistent_outcome_is_refused(change: dict[str, object], message: str) -> None:
    good = FlightOutcome.of("X", datetime(2017, 3, 1, 10, 0), datetime(2017, 3, 1, 10, 10))
    with pytest.raises(ValidationError, match=message):
        FlightOutcome.model_validate({**good.model_dump(), **change})


def test_outcomes_follow_their_events_on_the_simulated_clock() -> None:
    flights = list(dataset_flights(DATASET, limit=300))
    schedule = with_outcomes(flights, "canonical", ("in", "out"), speed=3600, lead=timedelta(minutes=60))
    assert len(schedule) == 600
    assert [s.due_s for s in schedule] == sorted(s.due_s for s in schedule)
    sent: dict[bytes, float] = {}
    for item in schedule:
        if item.topic == "in":
            sent[item.key or b""] = item.due_s
        else:
            outcome = FlightOutcome.model_validate_json(item.value)
            assert item.key in sent, "an outcome never comes before its flight's event"
            assert outcome.flight_id.encode() == item.key
    first = min(
        datetime.fromisoformat(orjson.loads(s.value)["scheduled_departure"]) for s in schedule if s.topic == "in"
    )
    last = max(FlightOutcome.model_validate_json(s.value).actual_departure for s in schedule if s.topic == "out")
    expected = ((last - first + timedelta(minutes=60)) / timedelta(seconds=1)) / 3600
    assert schedule[-1].due_s == pytest.approx(expected), "simulated seconds / speed"
    assert all(s.due_s == 0 for s in with_outcomes(flights[:5], "canonical", ("in", "out"), 0, timedelta(0)))


def test_outcome_times_are_aware() -> None:
    outcome = FlightOutcome.of("X", datetime(2017, 1, 1, 12, tzinfo=SANTIAGO), datetime(2017, 1, 1, 15, tzinfo=UTC))
    assert outcome.delay_minutes == 0.0 and not outcome.delayed  # 15:00 UTC is 12:00 in Santiago's summer
