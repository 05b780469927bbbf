"""A blocking client call gets a deadline: its result, its exception, or a retriable timeout."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import KafkaError, KafkaException

from stream_runtime import committers
from stream_runtime.bounded_call import call_within, still_blocked
from stream_runtime.exits import ExitCode, ServiceExit
from stream_runtime.recovery import ErrorFacts


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


def test_abandoned_calls_are_counted_while_they_stay_blocked() -> None:
    release = threading.Event()
    settle = time.monotonic() + 5
    while still_blocked() and time.monotonic() < settle:  # calls other tests released are finishing
        time.sleep(0.01)
    before = still_blocked()
    for _ in range(2):
        with pytest.raises(KafkaException):
            call_within(lambda: release.wait(30), 0.05, "send_offsets_to_transaction")
    assert still_blocked() == before + 2
    release.set()
    deadline = time.monotonic() + 5
    while still_blocked() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert still_blocked() == before  # a call that finally returns frees its slot


def test_a_committer_stops_replacing_producers_once_too_many_calls_stay_blocked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each replacement abandons a producer whose call may never return: past the bound, a new process is cheaper."""
    monkeypatch.setattr(committers, "still_blocked", lambda: committers.MAX_BLOCKED_CALLS)
    committer = committers.TransactionalCommitter.__new__(committers.TransactionalCommitter)
    facts = ErrorFacts(KafkaError._TIMED_OUT, text="send_offsets_to_transaction still blocked")
    with pytest.raises(ServiceExit) as raised:
        committer._replace(facts)
    assert raised.value.code == ExitCode.FATAL and "3 abandoned calls are still blocked" in raised.value.message
