"""The compiled lane with the stream features: its outcomes held equal the reference `StreamState` value for
value, and a version that reads them gets the same bytes from both lanes.

The Python path reads the outcomes from the reference, the compiled lane from its twin, each fed the same
outcomes: equal bytes then prove the twin's features, the lane's bins, sums and written values at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import pytest

from consumer.native_lane import CompiledLane
from consumer.scoring import BatchScorer
from consumer.transform import BatchResult, BatchTransform, OutputKind
from producer.replay import dataset_events
from schemas.flight_event import KNOWN_AT_HEADER
from stream_runtime.records import PlainRecord
from tests.support.stream_history import AIRLINES, DESTINATIONS, dataset_outcomes, random_outcomes, same_values
from training.dataset import load_flights
from training.departures_table import DeparturesTable
from training.lookup import ServingModel
from training.stream_features import HOUR, LONGEST_WINDOW_SECONDS, STREAM_FEATURE_NAMES, StreamState
from training.stream_state import CompiledStreamState

DATASET = Path("data/dataset_SCL.csv")
NOW = datetime(2026, 12, 5, 5, 0, 0, 123456, tzinfo=UTC)
MAX_BYTES = 64 * 1024
LEAD = timedelta(minutes=60)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_compiled_twin_holds_what_the_reference_holds_value_for_value(seed: int) -> None:
    """Random outcomes in any order, events at the windows' edges and anywhere, and forgetting on the way."""
    outcomes = random_outcomes(800, seed)
    rng = np.random.default_rng(seed + 10)
    reference, twin = StreamState(), CompiledStreamState()
    checked = forgotten = 0
    for start in range(0, len(outcomes), 200):
        for outcome in outcomes[start : start + 200]:
            reference.add(outcome)
            twin.add(outcome)
        times = [o.known_at + shift for o in outcomes[start : start + 20] for shift in (0, 1, HOUR, 3 * HOUR)]
        times += [int(t) for t in rng.integers(0, 12 * 86_400, 60)]
        for t in times:
            airline, destination = str(rng.choice(AIRLINES)), str(rng.choice(DESTINATIONS))
            flight = f"F-{int(rng.integers(0, 7))}"
            expected = reference.features_at(t, airline, destination, flight)
            assert len(expected) == len(STREAM_FEATURE_NAMES)
            assert same_values(twin.features_at(t, airline, destination, flight), expected), (t, airline, flight)
            checked += 1
        assert len(twin) == len(reference)
        moment = int(rng.integers(0, 12 * 86_400)) + LONGEST_WINDOW_SECONDS // 2
        held = len(reference)
        reference.forget_before(moment)
        twin.forget_before(moment)
        assert len(twin) == len(reference)
        forgotten += held - len(reference)
    assert checked == 4 * 140 and forgotten > 0


def _tables() -> tuple[DeparturesTable, DeparturesTable]:
    """(the twin's, the reference's) tables over every dataset flight's outcome; no broker is asked."""
    compiled = DeparturesTable({}, "departures", state=CompiledStreamState())
    reference = DeparturesTable({}, "departures")
    for outcome in dataset_outcomes(load_flights(DATASET)):
        compiled.state.add(outcome)
        reference.state.add(outcome)
    return compiled, reference


def _records(limit: int) -> list[PlainRecord]:
    """Dataset flights as a replay sends them, each known `LEAD` before its departure: every third by its
    record's timestamp alone, the others by the simulated clock's header (the timestamp then the wall clock's)."""
    records: list[PlainRecord] = []
    for i, (key, value) in enumerate(dataset_events(DATASET)):
        if i >= limit:
            break
        departure = datetime.fromisoformat(orjson.loads(value)["scheduled_departure"])
        known_ms = int((departure - LEAD).timestamp() * 1000)
        if i % 3 == 0:
            records.append(PlainRecord(value, key, raw_offset=i, raw_timestamp_ms=known_ms))
        else:
            headers: list[tuple[str, str | bytes | None]] = [(KNOWN_AT_HEADER, str(known_ms).encode())]
            wall_ms = 1_764_900_000_000 + i
            records.append(PlainRecord(value, key, raw_offset=i, raw_timestamp_ms=wall_ms, raw_headers=headers))
    return records


def _same_outputs(compiled: BatchResult, python: BatchResult) -> None:
    assert compiled.outputs == python.outputs
    assert [m.probability_sum for m in compiled.models] == [m.probability_sum for m in python.models]


@pytest.mark.parametrize("roles", ["stream champion, event challenger", "event champion, stream challenger"])
def test_a_version_with_stream_features_gets_the_same_bytes_from_both_lanes(
    stream_serving_model: ServingModel, serving_model: ServingModel, roles: str
) -> None:
    stream, event = BatchScorer(stream_serving_model), BatchScorer(serving_model, top=2)
    champion, challenger = (stream, event) if roles.startswith("stream") else (event, stream)
    compiled_table, reference_table = _tables()

    def transform(compiled: bool) -> BatchTransform:
        return BatchTransform(
            champion,
            challenger=challenger,
            group_id="g",
            max_payload_bytes=MAX_BYTES,
            dead_letter_max_value_bytes=MAX_BYTES,
            compiled=compiled,
            departures=compiled_table if compiled else reference_table,
        )

    compiled, python = transform(True), transform(False)
    assert compiled.lane is not None and python.lane is None
    records = _records(12_000)
    carried = 0
    for start in range(0, len(records), 1500):
        batch = records[start : start + 1500]
        current = start % 3000 == 0  # both answers of the catch-up are written
        result = compiled(batch, NOW, current)
        _same_outputs(result, python(batch, NOW, current))
        assert result.by_native == len(batch)
        for kind in (OutputKind.PREDICTION, OutputKind.SHADOW):
            for _, value in result.outputs[kind]:
                prediction = orjson.loads(value)
                if "stream_features" in prediction:
                    assert prediction["stream_features_current"] is current
                    carried += 1
    assert carried == len(records)  # the stream version's predictions, champion's or challenger's


def test_a_stream_version_without_its_outcomes_in_the_twin_is_scored_by_the_python_path(
    stream_serving_model: ServingModel,
) -> None:
    scorer = BatchScorer(stream_serving_model)
    assert CompiledLane.build(MAX_BYTES, scorer, None, StreamState()) is None
    assert CompiledLane.build(MAX_BYTES, scorer, None, None) is None
    assert CompiledLane.build(MAX_BYTES, scorer, None, CompiledStreamState()) is not None


def _alone(model: ServingModel, compiled: bool) -> BatchTransform:
    """`model` alone in a transform of either lane, its outcomes held where that lane reads them (none held)."""
    table = DeparturesTable({}, "departures", state=CompiledStreamState() if compiled else StreamState())
    return BatchTransform(
        BatchScorer(model),
        group_id="g",
        max_payload_bytes=MAX_BYTES,
        dead_letter_max_value_bytes=MAX_BYTES,
        compiled=compiled,
        departures=table,
    )


@pytest.mark.parametrize("compiled", [True, False])
def test_a_batch_without_a_valid_event_is_dead_lettered_by_a_stream_version(
    stream_serving_model: ServingModel, compiled: bool
) -> None:
    """No event to compute features for is not an error: the batch's dead letters go out."""
    transform = _alone(stream_serving_model, compiled)
    result = transform([PlainRecord(b"not json", b"k"), PlainRecord(b"{}", b"k")], NOW)
    assert (result.valid, result.invalid, len(result.outputs[OutputKind.DEAD_LETTER])) == (0, 2, 2)
    assert result.outputs[OutputKind.PREDICTION] == []


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("sent", [b"99999999999999999999", b"-99999999999999999999", b"soon", b""])
def test_a_known_at_header_that_is_no_moment_falls_back_to_the_record_timestamp(
    stream_serving_model: ServingModel, compiled: bool, sent: bytes
) -> None:
    """A producer may send any bytes in the header: the event is then known at its record's timestamp, and one
    such record must not stop the stream."""
    transform = _alone(stream_serving_model, compiled)
    value = _records(1)[0].raw_value
    odd = PlainRecord(value, b"k", raw_timestamp_ms=1_512_000_000_000, raw_headers=[(KNOWN_AT_HEADER, sent)])
    plain = PlainRecord(value, b"k", raw_timestamp_ms=1_512_000_000_000)
    results = [transform([record], NOW) for record in (odd, plain)]
    assert [len(r.outputs[OutputKind.PREDICTION]) for r in results] == [1, 1]
    assert results[0].outputs == results[1].outputs
