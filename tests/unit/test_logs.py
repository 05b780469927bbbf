"""Repeated client warnings become one line every few seconds, with the count of those left out."""

from __future__ import annotations

import logging

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition
from prometheus_client import CollectorRegistry
from rich.console import Console

from kafka_common.cli_support import client_config_or_exit
from local_stack.broker import free_port
from stream_runtime.health import HealthState
from stream_runtime.logs import RepeatFilter
from stream_runtime.metrics import RuntimeMetrics
from stream_runtime.observer import ClientObserver


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


def test_a_tool_facing_an_absent_broker_says_so_in_a_line_not_hundreds(capfd: pytest.CaptureFixture[str]) -> None:
    """librdkafka alone writes each failed connection to the terminal, many a second; a command-line tool's
    clients report through `kafka_logger`: once in 5 s, nothing raw on the descriptor."""
    config = client_config_or_exit(f"127.0.0.1:{free_port()}", Console())  # nothing listens there
    consumer = Consumer({**config, "group.id": "absent", "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 100})
    try:
        with pytest.raises(KafkaException):
            consumer.list_topics(timeout=3)
        consumer.poll(0.5)
    finally:
        consumer.close()
    err = capfd.readouterr().err.splitlines()
    failures = [line for line in err if "Connect to" in line]
    assert len(failures) == 1 and failures[0].startswith("kafka: FAIL"), err
    assert not [line for line in err if line.startswith("%")], "librdkafka wrote to the terminal itself"


def test_a_rebalance_line_names_each_inputs_partitions(caplog: pytest.LogCaptureFixture) -> None:
    """The monitor reads four inputs: `[0, 0, 0, 0, 1, ...]` would not say which partition is whose."""
    observer = ClientObserver(HealthState(), RuntimeMetrics(CollectorRegistry(), "test", lambda: True))
    revoked = [TopicPartition("predictions", 1), TopicPartition("departures", 0), TopicPartition("predictions", 0)]
    with caplog.at_level(logging.INFO, logger="stream_runtime"):
        observer.on_revoke(revoked)
        observer.on_lost([TopicPartition("departures", 2)])
    assert [(r.getMessage(), r.partitions) for r in caplog.records] == [  # type: ignore[attr-defined]
        ("revoked", {"departures": [0], "predictions": [0, 1]}),
        ("partitions lost", {"departures": [2]}),
    ]
