"""The hostile corpus: hand-written payloads with the error kind a person expects, and generated ones built to be
wrong (a field mistyped, missing or absurd, or bytes that are not JSON at all)."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.support.records import VALID_EVENT

MAX_BYTES = 64 * 1024
VALID = VALID_EVENT
HAND_WRITTEN: list[tuple[bytes | None, str]] = [
    (b"", "empty"),
    (b"\x00\x01\x02\xff", "not_utf8"),
    (b"\xc3\x28", "not_utf8"),
    ('{"a": "\udcff"}'.encode("utf-8", "surrogatepass"), "not_utf8"),
    (b"{", "not_json"),
    (b"NaN", "not_json"),
    (b"null", "not_an_object"),
    (b"42", "not_an_object"),
    (b'"just a string"', "not_an_object"),
    (b"[" * 10 + b"]" * 10, "not_an_object"),
    (orjson.dumps({**VALID, "destination_city": "x" * 1_000_000}), "too_large"),
    (orjson.dumps({}), "invalid_event"),
    (orjson.dumps({**VALID, "scheduled_departure": "2017-02-29T10:00:00"}), "invalid_event"),
    (orjson.dumps({**VALID, "scheduled_departure": "2017-12-31T24:01:00"}), "invalid_event"),
    (orjson.dumps({**VALID, "scheduled_departure": ""}), "invalid_event"),
    (orjson.dumps({**VALID, "airline_name": "Sky Airlines"}), "invalid_event"),
    (orjson.dumps({**VALID, "airline_name": ""}), "invalid_event"),
    (orjson.dumps({**VALID, "flight_type": "n"}), "invalid_event"),
    (orjson.dumps({**VALID, "flight_type": None}), "invalid_event"),
    (orjson.dumps({**VALID, "month": 0}), "invalid_event"),
    (orjson.dumps({**VALID, "month": "marzo"}), "invalid_event"),
    (orjson.dumps({**VALID, "month": 4}), "invalid_event"),
    (orjson.dumps({**VALID, "origin": "SCFA"}), "invalid_event"),
    (orjson.dumps({**VALID, "destination": "scfa"}), "invalid_event"),
    (orjson.dumps({**VALID, "airline_code": ["SKU"]}), "invalid_event"),
    (orjson.dumps({**VALID, "flight_number": ""}), "invalid_event"),
    (orjson.dumps({**VALID, "flight_number": True}), "invalid_event"),
]

FIELDS = list(VALID)
SMALL_INTS = st.integers(-(2**63), 2**63 - 1)  # what JSON encoders accept
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    SMALL_INTS,
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.lists(SMALL_INTS, max_size=3),
    st.dictionaries(st.text(max_size=5), SMALL_INTS, max_size=2),
)
# Built once, not on each draw: hypothesis validates every strategy object it is handed.
KINDS = st.sampled_from(["mistyped", "missing", "impossible_date", "unknown", "binary", "extra_only"])
ONE_FIELD = st.sampled_from(FIELDS)
SOME_FIELDS = st.lists(ONE_FIELD, min_size=1, unique=True)
NAMED_FIELDS = st.sampled_from(["airline_name", "flight_type", "origin"])


@st.composite
def hostile(draw: st.DrawFn) -> bytes:
    """One payload built to be wrong: a field mistyped, missing or absurd, or bytes that are not JSON at all."""
    kind = draw(KINDS)
    body: dict[str, Any] = dict(VALID)
    if kind == "mistyped":
        body[draw(ONE_FIELD)] = draw(JUNK)
    elif kind == "missing":
        for field in draw(SOME_FIELDS):
            body.pop(field)
    elif kind == "impossible_date":
        month, day = draw(st.integers(1, 12)), draw(st.integers(29, 40))
        body["scheduled_departure"] = f"2017-{month:02d}-{day:02d}T{draw(st.integers(0, 30)):02d}:00:00"
    elif kind == "unknown":
        body[draw(NAMED_FIELDS)] = draw(st.text(min_size=1, max_size=20))
    elif kind == "binary":
        return draw(st.binary(min_size=1, max_size=200))
    else:
        body = {f"x{draw(st.integers(0, 99))}": draw(JUNK)}
    return orjson.dumps(body)


def generate(count: int) -> list[bytes]:
    collected: list[bytes] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(hostile())
    def collect(payload: bytes) -> None:
        collected.append(payload)

    collect()
    return collected
