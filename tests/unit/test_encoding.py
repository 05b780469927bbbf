"""The orjson prediction bytes are a valid `DelayPrediction`, equal to one built through pydantic."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from consumer.encoding import encode_predictions
from consumer.scoring import Term
from schemas import FlightEvent
from schemas.outputs import STREAM_FEATURE_NAMES, DelayPrediction, FeatureContribution, SourcePosition

STREAM_FIELDS = {"stream_features", "stream_features_current"}  # written only by a stream-feature version


@pytest.mark.parametrize(
    ("departure", "probability", "terms", "unseen"),
    [
        ("2017-01-01T23:30:00", 0.1910000000000001, [Term("destination=SCIE (Concepcion)", -0.1234)], []),
        ("2017-07-15T06:05:00", 1e-05, [], ["destination", "flight"]),
        ("2017-12-31T23:59:00-05:00", 0.999, [Term("month=7", 1.0), Term("hour=6", -2e-04)], ["flight"]),
        ("2100-02-28T00:00:00", 0.0, [Term("airline=Sky Airline", 0.5)] * 3, []),
    ],
)
def test_bytes_equal_the_pydantic_prediction(
    departure: str, probability: float, terms: list[Term], unseen: list[str]
) -> None:
    event = FlightEvent.model_validate(
        {
            "scheduled_departure": departure,
            "airline_name": "Sky Airline",
            "airline_code": "SKU",
            "flight_number": "101",
            "flight_type": "N",
            "destination": "SCIE",
        }
    )
    timestamp_ms = 1_700_000_000_123
    event_time = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    scored_at = datetime(2026, 11, 27, 13, 0, 0, 123456, tzinfo=UTC)
    expected = DelayPrediction(
        flight_id="SKU-101-x",
        delay_probability=probability,
        delayed=probability >= 0.191,
        threshold=0.191,
        model_version="20261127T000000Z",
        top_contributions=[FeatureContribution(feature=t.feature, log_odds=t.log_odds) for t in terms],
        unseen_categories=unseen,
        scheduled_departure=event.scheduled_departure,
        event_time=event_time,
        scored_at=scored_at,
        source=SourcePosition(topic="flights.scheduled", partition=5, offset=123456789),
    )
    [encoded] = encode_predictions(
        flight_ids=["SKU-101-x"],
        probabilities=[probability],
        threshold=0.191,
        model_version="20261127T000000Z",
        contributions=[terms],
        unseen=[unseen],
        scheduled_departures=[event.scheduled_departure],
        timestamps_ms=[timestamp_ms],
        scored_at=scored_at,
        topics=["flights.scheduled"],
        partitions=[5],
        offsets=[123456789],
    )
    parsed = DelayPrediction.model_validate_json(encoded)
    assert parsed == expected
    assert set(orjson.loads(encoded)) == set(DelayPrediction.model_fields) - STREAM_FIELDS, "no field missing or extra"
    reference = orjson.loads(expected.model_dump_json(exclude=STREAM_FIELDS))
    assert orjson.loads(encoded) == reference, "same JSON values as pydantic writes, times included"


def test_a_stream_feature_version_writes_its_values_and_whether_they_were_current() -> None:
    values: list[float | None] = [float(i) if i % 3 else None for i in range(len(STREAM_FEATURE_NAMES))]
    common = {
        "flight_ids": ["X"],
        "probabilities": [0.25],
        "threshold": 0.2,
        "model_version": "v",
        "contributions": [[]],
        "unseen": [[]],
        "scheduled_departures": ["2017-01-01T10:00:00-03:00"],
        "timestamps_ms": [0],
        "scored_at": datetime(2026, 1, 1, tzinfo=UTC),
        "topics": ["t"],
        "partitions": [0],
        "offsets": [1],
    }
    [encoded] = encode_predictions(**common, stream_features=[values], stream_current=False)  # type: ignore[arg-type]
    assert orjson.loads(encoded)["stream_features"] == values, "in the contract's order"
    parsed = DelayPrediction.model_validate_json(encoded)
    assert parsed.stream_features == values and parsed.stream_features_current is False
    assert set(orjson.loads(encoded)) == set(DelayPrediction.model_fields)
