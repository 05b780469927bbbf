"""Predictions straight to JSON bytes with orjson, skipping a pydantic object per event.

The bytes follow the `DelayPrediction` contract: tests/unit/test_encoding.py parses them with the model and
compares them field by field with a prediction built through pydantic, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime

import orjson

from consumer.scoring import Term

# UTC times end in `Z`, as pydantic writes them; other offsets are kept (scheduled departures are in -03/-04).
_OPTIONS = orjson.OPT_UTC_Z


def prediction_json(
    *,
    flight_id: str,
    probability: float,
    threshold: float,
    model_version: str,
    contributions: list[Term],
    unseen: list[str],
    scheduled_departure: datetime,
    event_time: datetime,
    scored_at: datetime,
    topic: str,
    partition: int,
    offset: int,
) -> bytes:
    return orjson.dumps(
        {
            "flight_id": flight_id,
            "delay_probability": probability,
            "delayed": probability >= threshold,
            "threshold": threshold,
            "model_version": model_version,
            "top_contributions": contributions,
            "unseen_categories": unseen,
            "scheduled_departure": scheduled_departure,
            "event_time": event_time,
            "scored_at": scored_at,
            "source": {"topic": topic, "partition": partition, "offset": offset},
        },
        option=_OPTIONS,
    )
