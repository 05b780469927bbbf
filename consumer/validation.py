"""Turn raw Kafka values into `FlightEvent`s or precise reasons for the dead-letter topic."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import orjson
from pydantic import ValidationError

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
        return _whole("not_json", f"not JSON: {exc}")
    if not isinstance(payload, dict):
        return _whole("not_an_object", f"expected a JSON object, got {type(payload).__name__}")
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
