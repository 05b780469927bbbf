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

import pytest
from confluent_kafka import Producer

from consumer.validation import Rejection, validate_value
from kafka_common.settings import TopicSettings
from producer.replay import dataset_events
from tests.support.dataset import DATASET
from tests.support.hostile import HAND_WRITTEN, MAX_BYTES, generate
from tests.support.recorder import OutputRecorder
from tests.support.streaming import scorers
from training.artifact import LoadedModel

pytestmark = [pytest.mark.integration, pytest.mark.security]

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
    from tests.support.streaming import read_outputs

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
