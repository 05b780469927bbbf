"""Predictions straight to JSON bytes with orjson, skipping a pydantic object per event.

The bytes follow the `DelayPrediction` contract: tests/unit/test_encoding.py parses them with the model and
compares them field by field with a prediction built through pydantic, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import orjson

from consumer.scoring import Term

# UTC times end in `Z`, as pydantic writes them; other offsets are kept (scheduled departures are in -03/-04).
OPTIONS = orjson.OPT_UTC_Z
# Record timestamps are milliseconds: added to the epoch exactly (a float of seconds would round some of them).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_predictions(
    *,
    flight_ids: Sequence[str],
    probabilities: Sequence[float],
    threshold: float,
    model_version: str,
    contributions: Sequence[list[Term] | list[orjson.Fragment]],
    unseen: Sequence[list[str]],
    scheduled_departures: Sequence[datetime | str],  # ISO text is written as it is
    timestamps_ms: Sequence[int],
    scored_at: datetime,
    topics: Sequence[str | None],
    partitions: Sequence[int | None],
    offsets: Sequence[int | None],
    stream_features: Sequence[list[float | None]] | None = None,
    stream_current: bool | None = None,
) -> list[bytes]:
    """One `DelayPrediction` JSON document per event; every sequence has one item per event (`stream_features`
    too, when the version reads them; without them the two stream fields are left out, as the compiled lane
    writes such predictions, and read back as null)."""
    dumps, milliseconds = orjson.dumps, timedelta
    streams: Sequence[list[float | None] | None] = (
        stream_features if stream_features is not None else [None] * len(flight_ids)
    )
    return [
        dumps(
            {
                "flight_id": flight_id,
                "delay_probability": probability,
                "delayed": probability >= threshold,
                "threshold": threshold,
                "model_version": model_version,
                "top_contributions": terms,
                "unseen_categories": flags,
                "scheduled_departure": departure,
                "event_time": EPOCH + milliseconds(milliseconds=timestamp),
                "scored_at": scored_at,
                "source": {"topic": topic, "partition": partition, "offset": offset},
                **({} if stream is None else {"stream_features": stream, "stream_features_current": stream_current}),
            },
            option=OPTIONS,
        )
        for flight_id, probability, terms, flags, departure, timestamp, topic, partition, offset, stream in zip(
            flight_ids,
            probabilities,
            contributions,
            unseen,
            scheduled_departures,
            timestamps_ms,
            topics,
            partitions,
            offsets,
            streams,
            strict=True,
        )
    ]
