"""`POST /predict` on the scorer's HTTP port: ad-hoc scoring with the stream's own validation and models.

The body is one event, a list of events, or the seed service's `{"flights": [...]}`. Each event goes through
the transform the stream uses (the same contract, the same champion and challenger), as a record of its own, so
a flight gets the probability here that it gets on the stream. A version with stream features reads the
scorer's departures table as of the request's arrival, as a live producer's event sent then would. Any invalid
event makes the answer a 422 that carries, per event, the errors its dead letter would. The body size, the events
per request and the requests scored at once are bounded, so ad-hoc traffic cannot take the stream's CPU.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from consumer.transform import BatchTransform, OutputKind
from consumer.validation import describe_json_error
from stream_runtime.health import Answer, error_answer
from stream_runtime.records import PlainRecord

HTTP_SOURCE = "http"  # the `source.topic` of a prediction made here


class PredictEndpoint:
    """Scores request bodies with the transform the loop serves now (read once per request)."""

    def __init__(self, transform: Callable[[], BatchTransform | None], max_events: int, concurrency: int) -> None:
        self._transform = transform
        self.max_events = max_events
        self._slots = threading.BoundedSemaphore(concurrency)

    def __call__(self, body: bytes) -> Answer:
        transform = self._transform()
        if transform is None:
            return error_answer(503, "no model loaded yet")
        try:
            values = _event_values(body)
        except ValueError as exc:
            return error_answer(400, str(exc))
        if len(values) > self.max_events:
            return error_answer(413, f"{len(values)} events; at most {self.max_events} per request")
        if not self._slots.acquire(blocking=False):
            return error_answer(429, "busy scoring other requests; retry shortly")
        try:
            now = datetime.now(UTC)
            stamp = int(now.timestamp() * 1000)
            records = [
                PlainRecord(value, raw_offset=i, raw_topic=HTTP_SOURCE, raw_timestamp_ms=stamp)
                for i, value in enumerate(values)
            ]
            source = transform.departures  # a stream-feature version's outcomes, as the loop last read them
            result = transform(records, now, source.current if source is not None else True)
        finally:
            self._slots.release()
        letters = result.outputs[OutputKind.DEAD_LETTER]
        if letters:
            errors = [_rejection(orjson.loads(value)) for _, value in letters]
            return error_answer(422, f"{len(errors)} of {len(values)} events are invalid", events=errors)
        answer: dict[str, Any] = {"predictions": _parsed(result.outputs[OutputKind.PREDICTION])}
        if OutputKind.SHADOW in result.outputs:
            answer["challenger"] = _parsed(result.outputs[OutputKind.SHADOW])
        return 200, "application/json", orjson.dumps(answer)


def _event_values(body: bytes) -> list[bytes]:
    """The body's events, each as the bytes a Kafka record would carry."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"the body is not JSON: {describe_json_error(exc)}") from None
    if isinstance(document, dict) and set(document) == {"flights"}:
        document = document["flights"]
    events = document if isinstance(document, list) else [document]
    if not events:
        raise ValueError("no events in the body")
    return [orjson.dumps(event) for event in events]


def _rejection(letter: dict[str, Any]) -> dict[str, Any]:
    return {
        "index": letter["source"]["offset"],
        "error_kind": letter["error_kind"],
        "reason": letter["reason"],
        "errors": letter["errors"],
    }


def _parsed(pairs: list[tuple[bytes | None, bytes]]) -> list[orjson.Fragment]:
    return [orjson.Fragment(value) for _, value in pairs]
