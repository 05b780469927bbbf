"""The batch transform on plain records: outputs, dead letters, offsets and counts, with no broker."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from itertools import islice

import numpy as np
import orjson
import pytest

from consumer.columnar import Columns
from consumer.scoring import BatchScorer, ScoredBatch
from consumer.transform import BatchTransform, OutputKind
from producer.replay import dataset_events
from schemas import DeadLetter, DelayPrediction
from stream_runtime.records import PlainRecord
from tests.support.dataset import DATASET
from tests.support.records import VALID_EVENT, records_of
from training.artifact import LoadedModel
from training.features import records_to_frame
from training.lookup import ServingModel

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
VALID = VALID_EVENT


@pytest.fixture(scope="module")
def transform(serving_model: ServingModel) -> BatchTransform:
    return BatchTransform(
        BatchScorer(serving_model, top=3), group_id="g", max_payload_bytes=4096, dead_letter_max_value_bytes=4096
    )


@pytest.mark.parametrize("event_format", ["canonical", "dataset"])
def test_dataset_events_take_the_fast_path_and_give_the_pipelines_probabilities(
    transform: BatchTransform, model: LoadedModel, event_format: str
) -> None:
    """The production model scores every event on a fast path, no fallback to the contract: canonical events
    (what the replay sends) in the compiled lane, the dataset's own column names in the Python fast path."""
    events = list(dataset_events(DATASET, limit=3000, event_format=event_format))  # type: ignore[arg-type]
    result = transform(records_of(events), NOW)
    assert result.by_contract == 0, "every dataset event must be decided by a fast path"
    assert result.by_native == (3000 if event_format == "canonical" else 0)
    predictions = [DelayPrediction.model_validate_json(v) for _, v in result.outputs[OutputKind.PREDICTION]]
    with DATASET.open(encoding="utf-8", newline="") as handle:
        rows = list(islice(csv.DictReader(handle), 3000))
    expected = model.pipeline.predict_proba(records_to_frame(rows))[:, 1]
    assert [p.flight_id.encode() for p in predictions] == [key for key, _ in events]
    assert np.array_equal([p.delay_probability for p in predictions], expected)
    assert (result.valid, result.invalid, result.dead_lettered) == (3000, 0, {})


def test_every_dataset_row_through_the_fast_path_gives_the_pipelines_bits(
    transform: BatchTransform, model: LoadedModel
) -> None:
    """All 68,206 flights, as the replay sends them, in batches of the shipped size."""
    events = list(dataset_events(DATASET))
    records = records_of(events, partitions=6)
    probabilities: list[float] = []
    for start in range(0, len(records), 2000):
        result = transform(records[start : start + 2000], NOW)
        assert result.by_contract == 0
        probabilities += [orjson.loads(v)["delay_probability"] for _, v in result.outputs[OutputKind.PREDICTION]]
    with DATASET.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(probabilities) == len(rows) == 68_206
    assert np.array_equal(probabilities, model.pipeline.predict_proba(records_to_frame(rows))[:, 1])


def test_a_mixed_batch_keeps_order_and_dead_letters_each_invalid_event(transform: BatchTransform) -> None:
    values = [
        orjson.dumps({**VALID, "flight_id": "a"}),
        b"{nope",
        orjson.dumps({**VALID, "flight_id": "b", "airline_name": "Nowhere Air"}),
        orjson.dumps({**VALID, "flight_id": "c", "scheduled_departure": "2017-03-10T20:15:00.5"}),  # contract path
        None,
        orjson.dumps({**VALID, "flight_id": "d", "scheduled_departure": "2017-03-10T23:15:00Z"}),
    ]
    records = records_of([(f"k{i}".encode(), v) for i, v in enumerate(values)], partitions=2)
    result = transform(records, NOW)
    predictions = [DelayPrediction.model_validate_json(v) for _, v in result.outputs[OutputKind.PREDICTION]]
    assert [p.flight_id for p in predictions] == ["a", "c", "d"]
    assert [p.source.offset for p in predictions] == [0, 1, 2]
    assert predictions[2].scheduled_departure == datetime(2017, 3, 10, 23, 15, tzinfo=UTC)
    letters = [DeadLetter.model_validate_json(v) for _, v in result.outputs[OutputKind.DEAD_LETTER]]
    assert [(d.error_kind, d.key_base64, d.source.partition, d.source.offset) for d in letters] == [
        ("not_json", "azE=", 1, 0),
        ("invalid_event", "azI=", 0, 1),
        ("empty", "azQ=", 0, 2),
    ]
    assert letters[1].errors[0].error == "unknown_airline"
    assert (result.valid, result.invalid, result.dead_lettered) == (
        3,
        3,
        {"not_json": 1, "invalid_event": 1, "empty": 1},
    )
    assert [(tp.partition, tp.offset) for tp in result.offsets] == [(0, 3), (1, 3)]
    assert result.by_contract == 4  # the three invalid ones and the fractional departure
    assert len(result.timestamps_ms) == 6


def test_an_event_the_model_cannot_score_is_isolated_not_fatal(serving_model: ServingModel) -> None:
    """If batch scoring raises, events are scored one by one and only the failing ones become `unscorable`."""
    scorer = BatchScorer(serving_model)
    real_score = scorer.score

    def fragile(columns: Columns, stream: np.ndarray | None = None) -> ScoredBatch:
        if "666" in columns.flight_number:
            raise ValueError("poison")
        return real_score(columns, stream)

    scorer.score = fragile  # type: ignore[method-assign]
    transform = BatchTransform(scorer, group_id="g", max_payload_bytes=4096, dead_letter_max_value_bytes=4096)
    values = [orjson.dumps({**VALID, "flight_number": n}) for n in ("1", "666", "2")]
    result = transform([PlainRecord(v, raw_offset=i) for i, v in enumerate(values)], NOW)
    predictions = [DelayPrediction.model_validate_json(v) for _, v in result.outputs[OutputKind.PREDICTION]]
    assert [p.source.offset for p in predictions] == [0, 2]
    [letter] = [DeadLetter.model_validate_json(v) for _, v in result.outputs[OutputKind.DEAD_LETTER]]
    assert (letter.error_kind, letter.source.offset, "poison" in letter.reason) == ("unscorable", 1, True)
    assert (result.valid, result.invalid) == (3, 0), "unscorable events are not input errors"


def test_dead_letters_keep_key_value_and_headers(transform: BatchTransform) -> None:
    record = PlainRecord(b"\xff", b"key", raw_headers=[("trace", b"\x00\x01"), ("text", "t"), ("none", None)])
    [(key, value)] = transform([record], NOW).outputs[OutputKind.DEAD_LETTER]
    letter = DeadLetter.model_validate_json(value)
    assert key == b"key"
    assert (letter.error_kind, letter.value_base64, letter.value_bytes) == ("not_utf8", "/w==", 1)
    assert [(h.key, h.value_base64) for h in letter.headers] == [("trace", "AAE="), ("text", "dA=="), ("none", None)]
    assert letter.consumer_group == "g"


def test_an_empty_batch_writes_nothing(transform: BatchTransform) -> None:
    result = transform([], NOW)
    assert result.outputs == {OutputKind.PREDICTION: [], OutputKind.DEAD_LETTER: []}
    assert (result.offsets, result.consumed) == ([], 0)


def test_a_batch_is_rewound_to_its_first_record_in_each_partition() -> None:
    from stream_runtime.records import first_offsets

    records = [PlainRecord(b"x", raw_partition=p, raw_offset=o) for p, o in [(1, 7), (0, 3), (1, 8), (0, 4), (2, 0)]]
    assert [(tp.partition, tp.offset) for tp in first_offsets(records)] == [(0, 3), (1, 7), (2, 0)]


def test_a_record_stamped_beyond_what_a_prediction_can_carry_is_dead_lettered(transform: BatchTransform) -> None:
    """Producers may stamp records with any 64-bit number; such a record is unscorable, the batch goes on."""
    value = orjson.dumps(VALID)
    stamps = [1_700_000_000_000, 2**62, -(2**62), -1]
    records = [PlainRecord(value, f"k{i}".encode(), raw_offset=i, raw_timestamp_ms=t) for i, t in enumerate(stamps)]
    result = transform(records, NOW)
    assert [key for key, _ in result.outputs[OutputKind.PREDICTION]] == [b"k0", b"k3"]
    letters = [DeadLetter.model_validate_json(v) for _, v in result.outputs[OutputKind.DEAD_LETTER]]
    assert [(letter.source.offset, letter.error_kind) for letter in letters] == [(1, "unscorable"), (2, "unscorable")]
    assert letters[0].errors[0].error == "timestamp_out_of_range"
    assert (result.valid, result.invalid) == (4, 0), "the events are valid: the fail-closed limit does not count them"
