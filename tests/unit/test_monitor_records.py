"""What the monitor makes of a record it reads: a prediction, an outcome, a flight, or a line that says why not."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from confluent_kafka import Message

from monitor.records import parse
from schemas.model_control import ModelRole
from tests.support.records import VALID_EVENT


class Record:
    """The three accessors `parse` reads; a message as the client hands it over."""

    def __init__(self, topic: str, value: bytes, partition: int = 2, offset: int = 41) -> None:
        self._topic, self._value, self._partition, self._offset = topic, value, partition, offset

    def topic(self) -> str:
        return self._topic

    def value(self) -> bytes:
        return self._value

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset


def parsed(topic: str, value: Any) -> object:
    record: Any = Record(topic, value if isinstance(value, bytes) else orjson.dumps(value))
    message: Message = record
    return parse(message, {"predictions": ModelRole.CHAMPION}, "flights")


@pytest.mark.parametrize(
    ("topic", "value", "line"),
    [
        ("departures", {"flight_id": "x"}, "departures partition 2 offset 41 is not a FlightOutcome: "),
        ("departures", {"flight_id": "x"}, "scheduled_departure: Field required"),
        ("predictions", b"not json", "predictions partition 2 offset 41 is not a DelayPrediction: the value: "),
        ("flights", {**VALID_EVENT, "flight_type": "X"}, "is not a FlightEvent: flight_type: "),
    ],
)
def test_a_record_that_is_none_of_them_names_topic_offset_contract_and_field(topic: str, value: Any, line: str) -> None:
    reason = parsed(topic, value)
    assert isinstance(reason, str) and line in reason, reason


def test_many_problems_are_cut_to_the_first_few_with_a_count() -> None:
    reason = parsed("departures", {})
    assert isinstance(reason, str) and reason.count("Field required") == 3 and "; and " in reason, reason
