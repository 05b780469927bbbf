"""The compiled lane agrees with the Python path: same verdicts, same normalised events, the same bytes out.

The Python path (columnar validator, pydantic contract, column-wise scoring, orjson) is the reference. The
compiled lane may defer a record to it, never accept what the contract rejects; what it accepts it must write
exactly as the Python path writes it, predictions and shadow predictions alike, byte for byte.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumer import native_lane
from consumer.columnar import Columns
from consumer.native_lane import CompiledLane, NativeValidator
from consumer.scoring import BatchScorer
from consumer.transform import BatchResult, BatchTransform, OutputKind
from consumer.validation import validate_value
from producer.replay import dataset_events
from schemas import FlightEvent
from stream_runtime.records import PlainRecord, RecordFields
from tests.support.hostile import HAND_WRITTEN, generate
from tests.support.payloads import JUNK, SOME_DEPARTURES, padded
from tests.support.records import VALID_EVENT
from training.lookup import ServingModel

DATASET = Path("data/dataset_SCL.csv")
NOW = datetime(2026, 11, 28, 5, 0, 0, 123456, tzinfo=UTC)
MAX_BYTES = 64 * 1024
NAMED = st.text(min_size=1, max_size=8).map(str.encode)
KEYS = st.one_of(NAMED, st.none(), st.just(b""), st.just(b"\xff\xfe"))
NOW_MS = st.integers(1_700_000_000_000, 1_800_000_000_000)
TIMESTAMPS = st.one_of(NOW_MS, st.integers(-2, 1000), st.integers(0, 253_402_300_799_999), st.just(253_402_300_800_000))
CITIES = ["Punta Arenas", "Asunción", "Bogotá", "São Paulo", "Ñuñoa", "x" * 100, "x" * 101, " x", "x\u00a0", "×", ""]
# Built once: see tests/support/payloads.py.
MONTH_TYPES = st.sampled_from([int, str])
SOME_CITIES = st.one_of(st.sampled_from(CITIES), st.none(), JUNK)
FLIGHT_IDS = st.one_of(st.text(max_size=8), st.sampled_from(["LAN-1-x", " x", 'a"\\b', "x" * 121]), JUNK)
BENDABLE = st.lists(st.sampled_from([*VALID_EVENT, "origin", "month", "flight_id"]), max_size=3, unique=True)
MONTHS = st.integers(0, 13)
EXTRA_NAMES = st.sampled_from(["Fecha-O", "OPERA", "extra", "MES"])


@cache
def bent(valid: str) -> st.SearchStrategy[Any]:
    """`valid` padded, re-cased or cut, a month number in its place, or junk."""
    return st.one_of(padded(valid), st.just(valid.lower()), st.just(valid[:-1]), MONTHS, JUNK)


def test_the_compiled_lane_is_installed() -> None:
    """`make setup` builds it; without it every test below would compare the Python path with itself."""
    assert native_lane.available(), "flightdelay_native is missing: `make setup` builds it from native/ with cargo"


@pytest.fixture(scope="module")
def lanes(serving_model: ServingModel) -> tuple[BatchTransform, BatchTransform]:
    """(compiled lane first, Python path alone), both with a challenger, so shadow predictions compare too."""
    scorer, challenger = BatchScorer(serving_model, top=3), BatchScorer(serving_model, top=2)

    def transform(compiled: bool) -> BatchTransform:
        return BatchTransform(
            scorer,
            challenger=challenger,
            group_id="g",
            max_payload_bytes=MAX_BYTES,
            dead_letter_max_value_bytes=MAX_BYTES,
            compiled=compiled,
        )

    compiled, python = transform(True), transform(False)
    assert compiled.lane is not None and python.lane is None
    return compiled, python


def same_outputs(compiled: BatchResult, python: BatchResult) -> None:
    assert compiled.outputs == python.outputs
    assert (compiled.valid, compiled.invalid, compiled.dead_lettered) == (
        python.valid,
        python.invalid,
        python.dead_lettered,
    )
    assert compiled.offsets == python.offsets and compiled.timestamps_ms == python.timestamps_ms
    described = [
        [(m.role, m.version, m.scored, m.delayed, m.probability_sum) for m in r.models] for r in (compiled, python)
    ]
    assert described[0] == described[1]


def test_every_dataset_row_gives_the_same_bytes_in_both_lanes(lanes: tuple[BatchTransform, BatchTransform]) -> None:
    """All 68,206 flights as the replay sends them: all but the three in Santiago's repeated hour (2017-05-13
    23:xx, whose offset the text alone does not settle) are decided by the compiled lane."""
    compiled, python = lanes
    events = list(dataset_events(DATASET))
    records = [
        PlainRecord(v, k, raw_offset=i, raw_timestamp_ms=1_500_000_000_000 + 7 * i) for i, (k, v) in enumerate(events)
    ]
    by_native = 0
    for start in range(0, len(records), 2000):
        batch = records[start : start + 2000]
        result = compiled(batch, NOW)
        same_outputs(result, python(batch, NOW))
        by_native += result.by_native
    assert len(records) == 68_206
    assert by_native == 68_206 - 3


@st.composite
def canonical_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """The producer's canonical events, some of their values bent, moved or replaced by junk."""
    body: dict[str, Any] = dict(VALID_EVENT)
    body["scheduled_departure"] = draw(SOME_DEPARTURES)
    if draw(st.booleans()):
        body["month"] = draw(MONTH_TYPES)(int(body["scheduled_departure"][5:7]))
    for name in ("origin_city", "destination_city"):
        if draw(st.booleans()):
            body[name] = draw(SOME_CITIES)
    if draw(st.booleans()):
        body["flight_id"] = draw(FLIGHT_IDS)
    if draw(st.integers(0, 3)) > 0:
        return body
    for name in draw(BENDABLE):
        body[name] = draw(bent(str(body.get(name, "SCEL"))))
    if draw(st.booleans()):
        del body[list(body)[draw(st.integers(0, len(body) - 1))]]
    if draw(st.booleans()):
        body[draw(EXTRA_NAMES)] = draw(JUNK)
    return body


PAYLOADS = canonical_payloads()


@st.composite
def records(draw: st.DrawFn) -> PlainRecord:
    value = orjson.dumps(draw(PAYLOADS))
    form = draw(st.integers(0, 9))
    if form == 8:  # the same key twice: orjson keeps the last, the compiled lane defers
        value = value[:-1] + b',"airline_code":"LAN"}'
    elif form == 9:
        value = b" \n" + value + b"\t"
    ordinary = draw(st.integers(0, 3)) > 0  # mostly a key that names the flight and a timestamp of these years
    key = draw(NAMED if ordinary else KEYS)
    stamp = draw(NOW_MS if ordinary else TIMESTAMPS)
    return PlainRecord(value, key, raw_timestamp_ms=stamp, raw_offset=draw(st.integers(0, 10**12)))


SEEN: list[tuple[bool, bool]] = []  # (the contract accepts, the compiled lane decided)


def agree(lanes: tuple[BatchTransform, BatchTransform], batch: Sequence[PlainRecord]) -> list[bool]:
    """Assert the lanes agree on `batch`; per record, True when the compiled lane decided it."""
    compiled, python = lanes
    assert compiled.lane is not None
    validator: NativeValidator = compiled.lane.validator
    kept = validator.split(RecordFields.of(batch))
    columns = Columns(**kept.batch.columns())
    for row, position in enumerate(kept.positions):
        reference = validate_value(batch[position].value(), MAX_BYTES, compiled.scorer.known_airlines)
        assert isinstance(reference, FlightEvent), f"compiled lane accepted what the contract rejects: {reference}"
        native, expected = columns.event(row), reference.model_dump()
        native["scheduled_departure"] = native["scheduled_departure"].isoformat()
        expected["scheduled_departure"] = expected["scheduled_departure"].isoformat()
        assert native == expected
        assert columns.wall[row] == reference.local_departure.strftime("%Y-%m-%dT%H:%M:%S")
    assert sorted(kept.positions + kept.deferred) == list(range(len(batch)))
    same_outputs(compiled(batch, NOW), python(batch, NOW))
    return [position in kept.positions for position in range(len(batch))]


@settings(max_examples=10_000, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(records())
def test_the_lanes_agree_on_generated_records(
    lanes: tuple[BatchTransform, BatchTransform], record: PlainRecord
) -> None:
    accepted = isinstance(validate_value(record.value(), MAX_BYTES, lanes[0].scorer.known_airlines), FlightEvent)
    SEEN.append((accepted, agree(lanes, [record])[0]))


def test_the_compiled_lane_decides_many_generated_valid_records() -> None:
    """Not a lane that defers everything, so the test above exercises what it accepts. It leaves to the Python
    path by design: offsets other than Santiago's own, dates without a time, ids the key cannot give, and
    anything the contract would strip or convert (the dataset test above shows it takes the replay's events)."""
    assert len(SEEN) >= 10_000, "run with the generated test above"
    accepted = sum(ok for ok, _ in SEEN)
    decided = sum(native for _, native in SEEN)
    assert accepted >= 2_000, "the generator must make valid records too"
    assert decided >= max(500, 0.2 * accepted), (decided, accepted)


def test_the_lanes_agree_on_the_hostile_corpus(lanes: tuple[BatchTransform, BatchTransform]) -> None:
    corpus = [value for value, _kind in HAND_WRITTEN] + generate(2_000)
    batch = [PlainRecord(value, b"k", raw_offset=i) for i, value in enumerate(corpus)]
    for start in range(0, len(batch), 500):
        agree(lanes, batch[start : start + 500])


# Bytes a JSON decoder may read differently from the contract's: whitespace, trailing data, duplicate keys,
# escapes (lone surrogates, escaped keys), invalid UTF-8, odd numbers, deep nesting, non-JSON literals.
_BODY = orjson.dumps(VALID_EVENT)[1:-1]
DECODER_EDGES: dict[str, bytes] = {
    "whitespace around": b" \n{ " + _BODY + b" }\t\r\n",
    "whitespace inside": b"{" + _BODY.replace(b",", b" ,\n ") + b"}",
    "trailing text": b"{" + _BODY + b"}x",
    "a second document": b"{" + _BODY + b"}{}",
    "trailing NUL": b"{" + _BODY + b"}\x00",
    "byte order mark": b"\xef\xbb\xbf{" + _BODY + b"}",
    "duplicate key": b"{" + _BODY + b',"destination":"SCFA"}',
    "trailing comma": b"{" + _BODY + b",}",
    "comment": b"{" + _BODY + b"/*c*/}",
    "an array": b"[{" + _BODY + b"}]",
    "escaped key": b"{" + _BODY.replace(b'"destination"', b'"destinatio\\u006e"') + b"}",
    "escaped airline": b"{" + _BODY.replace(b"Sky Airline", b"Sky Airlin\\u0065") + b"}",
    "escaped unknown key": b"{" + _BODY + b',"\\u00e9":1}',
    "a number for a text": b"{" + _BODY.replace(b'"800"', b"800") + b"}",
    "null origin": b"{" + _BODY + b',"origin":null}',
    "null flight id": b"{" + _BODY + b',"flight_id":null}',
    "escaped flight id": b"{" + _BODY + b',"flight_id":"X\\u0041"}',
    **{
        f"city {name}": b"{" + _BODY + b',"origin_city":"a' + raw + b'b"}'
        for name, raw in {
            "lone high surrogate": b"\\ud800",
            "lone low surrogate": b"\\udc00",
            "surrogate pair": b"\\ud83d\\ude00",
            "invalid UTF-8": b"\xff",
            "overlong UTF-8": b"\xc0\xaf",
            "UTF-8 surrogate": b"\xed\xa0\x80",
            "beyond U+10FFFF": b"\xf4\x90\x80\x80",
            "escaped letter": b"\\u00e3",
            "escaped slash": b"\\/",
            "escaped NUL": b"\\u0000",
            "noncharacter": b"\\uffff",
            "control byte": b"\x01",
            "raw tab": b"\t",
            "invalid escape": b"\\q",
            "short escape": b"\\u00",
        }.items()
    },
    **{
        f"month {name}": b"{" + _BODY + b',"month":' + raw + b"}"
        for name, raw in {
            "3.0": b"3.0",
            "3e0": b"3e0",
            "-0": b"-0",
            "1e400": b"1e400",
            "a 30-digit integer": b"123456789012345678901234567890",
            "03": b"03",
            "NaN": b"NaN",
            "Infinity": b"Infinity",
            "true": b"true",
            "an object": b'{"a":[1,2,{"b":null}]}',
            "nested 5,000 deep": b"[" * 5000 + b"]" * 5000,
            "as text": b'"3"',
            "as escaped text": b'"\\u0033"',
        }.items()
    },
}


@pytest.mark.parametrize("value", DECODER_EDGES.values(), ids=DECODER_EDGES.keys())
def test_the_lanes_agree_on_decoder_edge_cases(lanes: tuple[BatchTransform, BatchTransform], value: bytes) -> None:
    agree(lanes, [PlainRecord(value, b"k")])


def test_the_lanes_agree_around_santiagos_clock_changes(lanes: tuple[BatchTransform, BatchTransform]) -> None:
    """A repeated hour (2017-05-13 23:xx) and a skipped one (2017-08-13 00:xx): the compiled lane decides only
    the hours whose offset is certain."""
    hours = ["2017-05-13T22", "2017-05-13T23", "2017-05-14T00", "2017-08-12T23", "2017-08-13T00", "2017-08-13T01"]
    batch = [
        PlainRecord(
            orjson.dumps({**VALID_EVENT, "scheduled_departure": f"{hour[:10]}{sep}{hour[11:]}:{minute}{suffix}"}), b"k"
        )
        for hour in hours
        for minute in ("00:00", "30:00", "59:59")
        for suffix in ("", "-03:00", "-04:00", "Z")
        for sep in ("T", " ")
    ]
    decided = agree(lanes, batch)
    repeated = [d for record, d in zip(batch, decided, strict=True) if b"2017-05-13T23" in (record.value() or b"")]
    assert not any(repeated) and any(decided)


def test_keys_name_the_flight_only_when_the_body_does_not(lanes: tuple[BatchTransform, BatchTransform]) -> None:
    """A body without an id takes its key's; without either, the Python path derives one."""
    value = orjson.dumps(VALID_EVENT)
    batch = [PlainRecord(value, key) for key in (b"from-key", b'\xc3\xa9t\xc3\xa9\n"', None, b"", b"\xff")]
    assert agree(lanes, batch) == [True, True, False, False, False]


def test_tables_the_compiled_lane_refuses_leave_the_python_path_scoring(
    serving_model: ServingModel, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    scorer = BatchScorer(serving_model)
    specs = scorer.feature_specs()
    kind, first, second, table = specs[-1]
    monkeypatch.setattr(scorer, "feature_specs", lambda: [*specs[:-1], (kind, first, second, table[:-1])])
    with caplog.at_level(logging.ERROR, logger="consumer"):
        assert CompiledLane.build(MAX_BYTES, scorer, None) is None
    assert "scoring with the Python path alone" in caplog.text
    transform = BatchTransform(scorer, group_id="g", max_payload_bytes=MAX_BYTES, dead_letter_max_value_bytes=MAX_BYTES)
    result = transform([PlainRecord(orjson.dumps(VALID_EVENT), b"k")], NOW)
    assert (result.by_native, result.valid, len(result.outputs[OutputKind.PREDICTION])) == (0, 1, 1)


def test_the_validator_refuses_columns_of_different_lengths(serving_model: ServingModel) -> None:
    validator = NativeValidator(MAX_BYTES, BatchScorer(serving_model).known_airlines)
    with pytest.raises(ValueError, match="differ in length"):
        validator.split(RecordFields([b"{}"], [], [None], [0], [0], [(1, 0)], [0]))
