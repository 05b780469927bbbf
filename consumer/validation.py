"""Turn raw Kafka values into `FlightEvent`s or precise reasons for the dead-letter topic."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from schemas import FieldError, FlightEvent
from schemas.outputs import ErrorKind


@dataclass(frozen=True)
class Rejection:
    """Why a record cannot be scored."""

    kind: ErrorKind
    reason: str
    errors: list[FieldError]


def _whole(kind: ErrorKind, message: str) -> Rejection:
    return Rejection(kind, message, [FieldError(field="$", error=kind, message=message)])


def validate_value(
    value: bytes | None, max_bytes: int, known_airlines: Collection[str] | None = None
) -> FlightEvent | Rejection:
    """Decode and validate one record value; never raises for bad input."""
    payload = _decode(value, max_bytes)
    if isinstance(payload, Rejection):
        return payload
    return _validate(payload, known_airlines)


def validate_batch(
    values: Sequence[bytes | None], max_bytes: int, known_airlines: Collection[str] | None = None
) -> list[FlightEvent | Rejection]:
    """`validate_value` for a whole batch: each value is decoded on its own (so no value can spill into the
    next), then all objects are validated in one call. If any of them is invalid, they are validated one by
    one instead, which gives every event its own precise errors."""
    results: list[FlightEvent | Rejection | None] = []
    payloads: list[dict[str, Any]] = []
    positions: list[int] = []
    for value in values:
        decoded = _decode(value, max_bytes)
        if isinstance(decoded, Rejection):
            results.append(decoded)
        else:
            positions.append(len(results))
            payloads.append(decoded)
            results.append(None)
    try:
        events: list[FlightEvent | Rejection] = list(
            _EVENTS.validate_python(payloads, context={"known_airlines": known_airlines})
        )
    except ValidationError:
        events = [_validate(payload, known_airlines) for payload in payloads]
    for position, event in zip(positions, events, strict=True):
        results[position] = event
    return [result for result in results if result is not None]


_EVENTS: TypeAdapter[list[FlightEvent]] = TypeAdapter(list[FlightEvent])
# What a person calls each decoded JSON value, by the Python type orjson gives it.
_JSON_TYPES = {
    type(None): "null",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "an array",
}


def _decode(value: bytes | None, max_bytes: int) -> dict[str, Any] | Rejection:
    if not value:
        return _whole("empty", "empty value")
    if len(value) > max_bytes:
        return _whole("too_large", f"value of {len(value):,} bytes exceeds the limit of {max_bytes:,}")
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _whole("not_utf8", f"not UTF-8: {exc.reason} at byte {exc.start}")
    try:
        payload = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return _whole("not_json", f"not JSON: {describe_json_error(exc)}")
    if not isinstance(payload, dict):
        return _whole("not_an_object", f"expected a JSON object, got {_JSON_TYPES.get(type(payload), 'a value')}")
    return payload


def describe_json_error(exc: orjson.JSONDecodeError) -> str:
    """What the parser found and where, not only what it hoped for: "expected 'true'" alone misleads when the
    value is plain text."""
    where = f"line {exc.lineno}, column {exc.colno}"
    found = exc.doc[exc.pos : exc.pos + 24]
    if not found:
        return f"it ends at {where} before the JSON does"
    shown = repr(found) + ("…" if len(exc.doc) > exc.pos + 24 else "")
    return f"found {shown} at {where} ({exc.msg})"


def _validate(payload: dict[str, Any], known_airlines: Collection[str] | None) -> FlightEvent | Rejection:
    try:
        return FlightEvent.model_validate(payload, context={"known_airlines": known_airlines})
    except ValidationError as exc:
        errors = [
            FieldError(
                field=".".join(str(part) for part in error["loc"]) or "$", error=error["type"], message=error["msg"]
            )
            for error in exc.errors(include_url=False)
        ]
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:3])
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        return Rejection("invalid_event", f"invalid flight event: {summary}{more}", errors)
