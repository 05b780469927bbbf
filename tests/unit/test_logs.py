"""Repeated client warnings become one line every few seconds, with the count of those left out."""

from __future__ import annotations

import logging

from stream_runtime.logs import RepeatFilter


def _record(message: str, level: int = logging.WARNING, name: str = "librdkafka") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


def test_a_burst_of_the_same_warning_passes_once_per_window() -> None:
    repeats = RepeatFilter(window_s=60)
    messages = [
        f"Connect to ipv4#127.0.0.1:1 failed: Connection refused (after {i}ms in state CONNECT)" for i in range(126)
    ]
    passed = [repeats.filter(_record(message)) for message in messages]
    assert passed.count(True) == 1
    repeats.window_s = 0  # the window is over: the next one passes and says how many were left out
    record = _record(messages[0])
    assert repeats.filter(record)
    assert record.repeated == 125  # type: ignore[attr-defined]


def test_other_warnings_pass_and_information_is_never_held_back() -> None:
    repeats = RepeatFilter(window_s=60)
    assert repeats.filter(_record("broker A down"))
    assert repeats.filter(_record("a different warning"))
    assert repeats.filter(_record("Connect failed", logging.ERROR))
    assert not repeats.filter(_record("Connect failed", logging.ERROR)), "errors repeat too (librdkafka's FAIL)"
    assert all(repeats.filter(_record("assigned", logging.INFO)) for _ in range(3))
