"""When an event was known: the per-hour offset memo (`wall_seconds_of_ms`) is held to the exact computation
(`santiago_seconds`), around Santiago's clock changes and anywhere."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from training.departures_table import known_at, wall_seconds_of_ms
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
