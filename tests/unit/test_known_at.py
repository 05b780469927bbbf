"""When an event was known: the per-hour offset memo (`wall_seconds_of_ms`) is held to the exact computation
(`santiago_seconds`), around Santiago's clock changes and anywhere, and the compiled twin to `known_at`."""

from __future__ import annotations

from datetime import UTC, datetime

import flightdelay_native as native
import numpy as np
import pytest

from schemas.flight_event import KNOWN_AT_HEADER
from stream_runtime.records import PlainRecord
from training.departures_table import MOMENTS_HELD, hour_offset, known_at, known_at_many, wall_seconds_of_ms
from training.stream_features import santiago_seconds

# Santiago's clock changes of 2016-2018, UTC: each instant and the seconds around it
CHANGES_MS = [int(datetime(*moment, tzinfo=UTC).timestamp() * 1000) for moment in (
    (2016, 5, 15, 3), (2016, 8, 14, 4), (2017, 5, 14, 3), (2017, 8, 13, 4), (2018, 5, 13, 3), (2018, 8, 12, 4),
)]  # fmt: skip


def _exact(timestamp_ms: int) -> int:
    return santiago_seconds(datetime.fromtimestamp(timestamp_ms // 1000, UTC))


def _offset(timestamp_ms: int) -> int:
    return _exact(timestamp_ms) - timestamp_ms // 1000


def test_the_memo_equals_the_exact_computation_around_clock_changes_and_anywhere() -> None:
    assert all(_offset(c - 1000) != _offset(c) for c in CHANGES_MS), "each is a clock change"
    rng = np.random.default_rng(7)
    near = [change + shift for change in CHANGES_MS for shift in range(-7_200_000, 7_200_001, 999)]
    anywhere = [int(ms) for ms in rng.integers(-2_000_000_000_000, 4_000_000_000_000, 50_000)]
    differ = [ms for ms in near + anywhere if wall_seconds_of_ms(ms) != _exact(ms)]
    assert differ == [] and len(near) > 80_000


@pytest.mark.parametrize(
    ("headers", "timestamp_ms", "expected_ms"),
    [
        (None, 1_512_000_000_123, 1_512_000_000_123),
        ([("flightdelay-known-at-ms", b"1500000000000")], 1_512_000_000_000, 1_500_000_000_000),
        ({"flightdelay-known-at-ms": b"1500000000000"}, 1_512_000_000_000, 1_500_000_000_000),
        ([("flightdelay-known-at-ms", b"soon")], 1_512_000_000_000, 1_512_000_000_000),
        ([("flightdelay-known-at-ms", b"99999999999999999999")], 1_512_000_000_000, 1_512_000_000_000),
        ([("other", b"1500000000000")], 1_512_000_000_000, 1_512_000_000_000),
    ],
)
def test_an_event_is_known_at_its_header_when_it_is_a_moment_else_at_its_timestamp(
    headers: object, timestamp_ms: int, expected_ms: int
) -> None:
    assert known_at(headers, timestamp_ms) == _exact(expected_ms)  # type: ignore[arg-type]


def _random_headers(rng: np.random.Generator) -> object:
    """Headers as a producer may send them: none, the simulated clock's (plain, odd or twice), others."""
    plain = str(int(rng.integers(-2_000_000_000_000, 4_000_000_000_000))).encode()
    odd = [b"soon", b"", b" 1500000000000", b"1_500_000_000_000", b"+1500000000000", b"99999999999999999999",
           b"-0", b"\xff", "1500000000000", "\u0661\u0665"]  # fmt: skip
    value = plain if rng.random() < 0.6 else odd[int(rng.integers(0, len(odd)))]
    kind = int(rng.integers(0, 5))
    return [
        [],  # a record's headers() is then None
        [(KNOWN_AT_HEADER, value)],
        [("other", b"1"), (KNOWN_AT_HEADER, value)],
        [(KNOWN_AT_HEADER, None), (KNOWN_AT_HEADER, value)],
        [(KNOWN_AT_HEADER, plain), (KNOWN_AT_HEADER, value)],
    ][kind]


def test_the_compiled_twin_equals_the_reference_and_decides_the_plain_headers() -> None:
    """`known_at_many` against `known_at` record by record: headers of every shape, timestamps anywhere and
    around the clock changes; the twin itself leaves no record with one plain header (up to 18 digits), or
    none, to the reference."""
    rng = np.random.default_rng(11)
    near = [change + int(shift) for change in CHANGES_MS for shift in rng.integers(-7_200_000, 7_200_000, 300)]
    anywhere = [int(ms) for ms in rng.integers(-70_000_000_000_000, 260_000_000_000_000, 3_000)]
    records = [
        PlainRecord(b"{}", raw_timestamp_ms=ms, raw_headers=_random_headers(rng))  # type: ignore[arg-type]
        for ms in near + anywhere
    ]
    milliseconds = [record.raw_timestamp_ms for record in records]
    positions = [int(p) for p in rng.permutation(len(records))[: len(records) - 100]]
    expected = [known_at(records[p].headers(), milliseconds[p]) for p in positions]
    assert known_at_many(records, positions, milliseconds) == expected
    plain = [(p, r) for p, r in enumerate(records) if r.headers() is None or _one_plain_header(r.headers())]
    _, deferred = native.KnownAt(KNOWN_AT_HEADER, *MOMENTS_HELD, hour_offset).moments(
        [r for _, r in plain], list(range(len(plain))), [milliseconds[p] for p, _ in plain]
    )
    assert deferred == [] and len(plain) > 1_000


def _one_plain_header(headers: object) -> bool:
    if not isinstance(headers, list):
        return False
    values = [value for name, value in headers if name == KNOWN_AT_HEADER and value is not None]
    digits = values[0].removeprefix(b"-") if len(values) == 1 and isinstance(values[0], bytes) else b""
    return digits.isdigit() and len(digits) <= 18
