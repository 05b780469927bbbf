"""Each kind of bad input becomes a precise rejection; nothing raises."""

from __future__ import annotations

import orjson
import pytest

from consumer.invalid_limit import Admission, InvalidRatioLimit, InvalidRuns
from consumer.validation import Rejection, validate_value
from schemas import FlightEvent

GOOD = orjson.dumps(
    {
        "scheduled_departure": "2017-03-10T20:15:00",
        "airline_name": "Sky Airline",
        "airline_code": "SKU",
        "flight_number": "800",
        "flight_type": "N",
        "destination": "SCCI",
    }
)


@pytest.mark.parametrize(
    ("value", "kind", "field", "error"),
    [
        (None, "empty", "$", "empty"),
        (b"", "empty", "$", "empty"),
        (b"x" * 5000, "too_large", "$", "too_large"),
        (b"\xff\xfe{}", "not_utf8", "$", "not_utf8"),
        (b"{nope", "not_json", "$", "not_json"),
        (b"[1, 2]", "not_an_object", "$", "not_an_object"),
        (b'"text"', "not_an_object", "$", "not_an_object"),
        (GOOD.replace(b'"N"', b'"Q"'), "invalid_event", "flight_type", "literal_error"),
        (GOOD.replace(b"Sky Airline", b"Nowhere Air"), "invalid_event", "airline_name", "unknown_airline"),
        (GOOD.replace(b'"flight_number":"800",', b""), "invalid_event", "flight_number", "missing"),
        (
            GOOD.replace(b"2017-03-10T20:15:00", b"2017-02-30T20:15:00"),
            "invalid_event",
            "scheduled_departure",
            "datetime_from_date_parsing",
        ),
    ],
)
def test_rejections(value: bytes | None, kind: str, field: str, error: str) -> None:
    result = validate_value(value, max_bytes=4096, known_airlines={"Sky Airline", "Grupo LATAM"})
    assert isinstance(result, Rejection)
    assert result.kind == kind
    assert (result.errors[0].field, result.errors[0].error) == (field, error)
    assert result.reason


def test_valid_event_passes() -> None:
    assert isinstance(validate_value(GOOD, 4096, {"Sky Airline"}), FlightEvent)


def test_invalid_ratio_limit_window() -> None:
    limit = InvalidRatioLimit(max_ratio=0.5, window=100, min_events=50)
    assert not limit.exceeded_with(valid=10, invalid=30), "fewer events than min_events"
    limit.record(10, Admission(False, counted=30))
    assert limit.exceeded_with(valid=0, invalid=20)
    assert limit.describe_with(valid=0, invalid=20).startswith("50 of the last 60 events were invalid (83%)")
    limit.record(0, Admission(False, counted=20))
    for _ in range(10):
        limit.record(20, Admission(False, counted=0))
    assert not limit.exceeded_with(valid=0, invalid=0), "old invalid batches must slide out of the window"
    assert limit.describe_with(0, 0).startswith("0 of the last 100 events")


def test_a_batch_checked_twice_is_counted_once() -> None:
    """A batch re-read after an aborted transaction is checked again but recorded only when it commits."""
    limit = InvalidRatioLimit(max_ratio=0.5, window=1000, min_events=100)
    limit.record(60, limit.admit(valid=60, invalid=0))
    for _attempt in range(3):  # the same batch, decided before each commit attempt
        admission = limit.admit(valid=10, invalid=50)
    assert admission == Admission(False, counted=50)
    limit.record(10, admission)
    assert limit.describe_with(0, 0).startswith("50 of the last 120 events")


@pytest.mark.parametrize(
    ("allowance", "batches", "admissions", "left"),
    [
        (0, [(0, 300)], [Admission(True)], 0),
        (500, [(0, 300), (0, 150)], [Admission(False, 0, 300), Admission(False, 0, 150)], 50),
        (500, [(0, 300), (0, 300)], [Admission(False, 0, 300), Admission(True)], 200),
        # the burst is past: valid events count as usual, a few invalid ones do not touch the allowance
        (400, [(0, 300), (290, 10)], [Admission(False, 0, 300), Admission(False, 10, 0)], 100),
    ],
)
def test_an_allowance_lets_a_known_burst_through_once(
    allowance: int, batches: list[tuple[int, int]], admissions: list[Admission], left: int
) -> None:
    limit = InvalidRatioLimit(max_ratio=0.5, window=1000, min_events=100, allowance=allowance)
    decided = []
    for valid, invalid in batches:
        admission = limit.admit(valid, invalid)
        decided.append(admission)
        if admission.fail_closed:
            break
        limit.record(valid, admission)
    assert decided == admissions
    assert limit.allowance == left


def test_a_batch_is_validated_exactly_as_each_value_alone() -> None:
    """One call for the whole batch when all are valid; per-value errors as soon as one is not."""
    from consumer.validation import validate_batch

    other = GOOD.replace(b'"800"', b'"801"')
    unknown = GOOD.replace(b"Sky Airline", b"Nowhere Air")
    smuggle_a, smuggle_b = GOOD[:-1] + b"}," + other[:-1], b"}"  # valid only if glued together
    batches: list[list[bytes | None]] = [
        [GOOD, other, GOOD],
        [GOOD, b"", unknown, b"[1]", b"\xff", smuggle_a, smuggle_b, b"x" * 5000, other, None],
    ]
    known = {"Sky Airline"}
    for batch in batches:
        assert validate_batch(batch, 4096, known) == [validate_value(value, 4096, known) for value in batch]
    results = validate_batch(batches[1], 4096, known)
    assert [r.kind if isinstance(r, Rejection) else "ok" for r in results] == [
        "ok", "empty", "invalid_event", "not_an_object", "not_utf8", "not_json", "not_json", "too_large", "ok", "empty",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"null", "expected a JSON object, got null"),
        (b"[1]", "expected a JSON object, got an array"),
        (b"4.5", "expected a JSON object, got a number"),
        (b'"x"', "expected a JSON object, got a string"),
        (b"true", "expected a JSON object, got a boolean"),
    ],
)
def test_not_an_object_says_what_it_got_in_json_terms(value: bytes, reason: str) -> None:
    result = validate_value(value, max_bytes=4096)
    assert isinstance(result, Rejection)
    assert result.reason == reason


@pytest.mark.parametrize(
    ("size", "positions", "runs"),
    [
        (5, [], InvalidRuns(5, 0, 0, 0)),
        (5, [0, 1, 3], InvalidRuns(5, 2, 2, 0)),
        (5, [2, 3, 4], InvalidRuns(5, 0, 3, 3)),
        (4, [0, 1, 2, 3], InvalidRuns(4, 4, 4, 4)),
        (6, [0, 2, 3, 5], InvalidRuns(6, 1, 2, 1)),
    ],
)
def test_invalid_runs_of_a_batch(size: int, positions: list[int], runs: InvalidRuns) -> None:
    assert InvalidRuns.of(size, positions) == runs
    assert runs.all_invalid == (len(positions) == size > 0)


@pytest.mark.parametrize(
    ("batches", "expected"),
    [
        # (size, invalid positions) per batch; the limit is 5 in a row, the ratio limit out of reach
        ([(10, [5, 6, 7, 8, 9]), (10, [0])], [False, True]),  # a run crossing the batches: 5 + 1
        ([(10, [5, 6, 7, 8, 9]), (10, [1])], [False, False]),  # broken by a valid event
        ([(4, [0, 1, 2, 3]), (4, [0, 1, 2, 3])], [False, True]),  # all-invalid batches add up: 4 + 4
        ([(10, [0, 1, 2, 3, 4, 5])], [True]),  # within one batch
    ],
)
def test_a_run_of_invalid_events_fails_closed(batches: list[tuple[int, list[int]]], expected: list[bool]) -> None:
    limit = InvalidRatioLimit(max_ratio=1.0, window=1000, min_events=1, max_consecutive=5)
    decided = []
    for size, positions in batches:
        runs = InvalidRuns.of(size, positions)
        admission = limit.admit(size - len(positions), len(positions), runs)
        decided.append(admission.fail_closed)
        if admission.fail_closed:
            assert "invalid events in a row, above the limit of 5" in admission.why
            break
        limit.record(size - len(positions), admission, runs)
    assert decided == expected


def test_an_allowance_lets_a_run_through_too() -> None:
    limit = InvalidRatioLimit(max_ratio=1.0, window=1000, min_events=1, allowance=10, max_consecutive=5)
    runs = InvalidRuns.of(8, list(range(8)))
    admission = limit.admit(0, 8, runs)
    assert admission == Admission(False, counted=0, allowed=8)
    limit.record(0, admission, runs)
    assert not limit.admit(9, 1, InvalidRuns.of(10, [0])).fail_closed, "the forgiven burst does not start a run"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"this is not json", "not JSON: found 'this is not json' at line 1, column 1"),
        (b'{"a": ', "not JSON: it ends at line 1, column 7 before the JSON does"),
        (b'{"a": 1,}', "not JSON: found ',}' at line 1, column 8 (trailing comma is not allowed)"),
        (b"{\n  oops: 1}", "not JSON: found 'oops: 1}' at line 2, column 3"),
        (b"x" * 100, "not JSON: found 'xxxxxxxxxxxxxxxxxxxxxxxx'… at line 1, column 1"),
    ],
)
def test_a_not_json_letter_says_what_was_found_and_where(value: bytes, reason: str) -> None:
    rejection = validate_value(value, 4096)
    assert isinstance(rejection, Rejection) and rejection.kind == "not_json"
    assert rejection.reason.startswith(reason), rejection.reason
