"""A blocking client call gets a deadline: its result, its exception, or a retriable timeout."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import KafkaError, KafkaException

from consumer.bounded_call import call_within


def test_returns_the_result() -> None:
    assert call_within(lambda: 42, 5, "quick") == 42


def test_reraises_the_calls_own_error() -> None:
    error = KafkaError(KafkaError._STATE, "no transaction open")

    def fail() -> None:
        raise KafkaException(error)

    with pytest.raises(KafkaException) as raised:
        call_within(fail, 5, "failing")
    assert raised.value.args[0].code() == KafkaError._STATE


def test_a_call_stuck_past_the_deadline_becomes_a_retriable_timeout() -> None:
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(KafkaException) as raised:
        call_within(lambda: release.wait(30), 0.2, "send_offsets_to_transaction")
    waited = time.monotonic() - started
    release.set()
    error: KafkaError = raised.value.args[0]
    assert error.code() == KafkaError._TIMED_OUT
    assert error.retriable() and not error.fatal() and not error.txn_requires_abort()
    assert "send_offsets_to_transaction still blocked" in error.str()
    assert waited < 10  # it returned at the deadline, not when the call finished
