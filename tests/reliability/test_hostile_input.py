"""10,000+ hostile payloads (hypothesis and hand-written) mixed with valid events: nothing crashes, nothing lost.

Every valid event is scored; every invalid one is dead-lettered with its reason and its original bytes. The
per-payload verdict is the validator's own (computed offline); the hand-written cases also carry the error
kind a person expects, so the validator is checked independently of itself.
"""

from __future__ import annotations

import base64
import random
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from consumer.validation import Rejection, validate_value
from kafka_common.settings import TopicSettings
from producer.replay import dataset_events
from tests.conftest import DATASET
from tests.reliability.conftest import OutputRecorder
from tests.streaming import scorers
from tests.support import VALID_EVENT
from training.artifact import LoadedModel

pytestmark = [pytest.mark.integration, pytest.mark.security]

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


@st.composite
def hostile(draw: st.DrawFn) -> bytes:
    """One payload built to be wrong: a field mistyped, missing or absurd, or bytes that are not JSON at all."""
    kind = draw(st.sampled_from(["mistyped", "missing", "impossible_date", "unknown", "binary", "extra_only"]))
    body: dict[str, Any] = dict(VALID)
    if kind == "mistyped":
        body[draw(st.sampled_from(FIELDS))] = draw(JUNK)
    elif kind == "missing":
        for field in draw(st.lists(st.sampled_from(FIELDS), min_size=1, unique=True)):
            body.pop(field)
    elif kind == "impossible_date":
        month, day = draw(st.integers(1, 12)), draw(st.integers(29, 40))
        body["scheduled_departure"] = f"2017-{month:02d}-{day:02d}T{draw(st.integers(0, 30)):02d}:00:00"
    elif kind == "unknown":
        body[draw(st.sampled_from(["airline_name", "flight_type", "origin"]))] = draw(st.text(min_size=1, max_size=20))
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


HEADER_SETS: list[list[tuple[str, str | bytes | None]]] = [
    [],
    [("", b"")],
    [("trace", None)],
    [("dup", b"1"), ("dup", b"2")],
    [("bin", b"\xff\x00" * 50)],
    [("ünïcode", "välue".encode())],
]


def test_hostile_payloads_are_dead_lettered_and_valid_ones_scored(
    bootstrap: str,
    model_dir: Path,
    model: LoadedModel,
    stream_topics: TopicSettings,
    tmp_path: Path,
    figures: dict[str, Any],
) -> None:
    rng = random.Random(17)
    known = frozenset(model.manifest.feature_schema.features[6].categories)  # the "airline" feature
    assert "Sky Airline" in known
    generated = generate(10_500)
    payloads = [p for p, _ in HAND_WRITTEN] * 40 + generated  # each hand-written case 40 times
    hostile_events = [(None if i % 7 == 0 else f"h-{i}".encode(), payload) for i, payload in enumerate(payloads)]
    valid_events = list(dataset_events(DATASET, start=1_000, limit=10_000))
    stream: list[tuple[bytes | None, bytes | None]] = [*hostile_events, *valid_events]
    rng.shuffle(stream)
    verdicts = [validate_value(value, MAX_BYTES, known) for _, value in stream]
    invalid = sum(isinstance(v, Rejection) for v in verdicts)
    assert invalid >= 10_000, f"only {invalid} payloads are actually invalid"

    recorder = OutputRecorder({"bootstrap.servers": bootstrap}, stream_topics)
    try:
        with scorers(
            bootstrap,
            model_dir,
            stream_topics,
            tmp_path,
            SCORER_MAX_INVALID_RATIO="0.75",
            SCORER_MAX_PAYLOAD_BYTES=str(MAX_BYTES),
        ) as (scorer,):
            producer = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 2_000_000, "linger.ms": 5})
            for index, (key, value) in enumerate(stream):
                producer.produce(stream_topics.input, key=key, value=value, headers=HEADER_SETS[index % 6])
                producer.poll(0)
            assert producer.flush(60) == 0
            recorder.wait_for(len(stream), 240)
            recorder.settle()
            assert scorer.process is not None and scorer.process.poll() is None, "the scorer stopped"
        kinds, positions = recorder.summary()
    finally:
        recorder.close()
    assert len(positions) == len(stream) and max(positions.values()) == 1
    assert kinds == {"prediction": len(stream) - invalid, "dead_letter": invalid}
    figures["hostile_input"] = {
        "payloads_tried": len(payloads),
        "hypothesis_generated": len(generated),
        "actually_invalid": invalid,
        "valid_events": len(stream) - invalid,
        "consumer_crashes": 0,
        "lost": 0,
        "duplicated": 0,
    }


def test_dead_letters_keep_bytes_reason_and_headers(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    """The hand-written cases, each with the kind a person expects, read back byte for byte."""
    from tests.streaming import read_outputs

    with scorers(bootstrap, model_dir, stream_topics, tmp_path, SCORER_MAX_INVALID_RATIO="1"):
        producer = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 2_000_000})
        for index, (value, _) in enumerate(HAND_WRITTEN):
            producer.produce(
                stream_topics.input,
                key=f"case-{index}".encode(),
                value=value,
                headers=[("origin", b"\xfe\xff"), ("empty", None)],
            )
        assert producer.flush(30) == 0
        _, letters = read_outputs(bootstrap, stream_topics, len(HAND_WRITTEN))
    by_key = {base64.b64decode(letter.key_base64 or "").decode(): letter for letter in letters}
    assert Counter(letter.error_kind for letter in letters) == Counter(kind for _, kind in HAND_WRITTEN)
    for index, (value, kind) in enumerate(HAND_WRITTEN):
        letter = by_key[f"case-{index}"]
        assert letter.error_kind == kind, (index, letter.reason)
        assert letter.reason and letter.errors
        assert base64.b64decode(letter.value_base64 or "") == (value or b"")
        assert [(h.key, h.value_base64) for h in letter.headers] == [("origin", "/v8="), ("empty", None)]
