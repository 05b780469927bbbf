"""The stream runtime's edges without a broker: a failing close is one log line, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import pytest
from confluent_kafka import KafkaError, KafkaException, Message
from prometheus_client import CollectorRegistry

from stream_runtime.exits import ExitCode
from stream_runtime.processor import Batch, Processor
from stream_runtime.runtime import ServiceSpec, StreamRuntime
from stream_runtime.settings import StreamSettings


class Nothing(Processor[None]):
    def process(self, records: Sequence[Message], now: datetime, due: bool) -> Batch[None]:
        raise AssertionError("no batch without a broker")

    def committed(self, batch: Batch[None]) -> None:
        raise AssertionError("no batch without a broker")


class BrokenConsumer:
    """Answers nothing, and fails to close."""

    def list_topics(self, timeout: float) -> None:
        raise KafkaException(KafkaError(KafkaError._TRANSPORT, "no broker"))

    def poll(self, timeout: float) -> None:
        return None

    def close(self) -> None:
        raise RuntimeError("close failed: the client is in a bad state")


def test_a_close_error_is_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    settings = StreamSettings(group_id="g", http_port=0, startup_timeout_s=0.2)
    spec = ServiceSpec(name="nothing", inputs=["t"], metric_prefix="nothing", port_variable="--")
    runtime = StreamRuntime(Nothing(), spec, settings, {"bootstrap.servers": "127.0.0.1:1"}, CollectorRegistry())
    runtime.consumer = BrokenConsumer()  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="stream_runtime"):
        assert runtime.run() == ExitCode.FATAL  # no broker answered within the start-up timeout
    closing = [r for r in caplog.records if "closing" in r.getMessage()]
    assert [r.getMessage() for r in closing] == ["closing the consumer: close failed: the client is in a bad state"]
    assert closing[0].exc_info is None
