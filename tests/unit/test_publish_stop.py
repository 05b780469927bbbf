"""A stop request while publishing: nothing more is produced, what was queued is withdrawn and counted, no event
is lost from the count (a broker that never answers keeps every event queued)."""

from __future__ import annotations

import signal

from confluent_kafka import Producer

from producer.interrupt import StopRequest, StopRequestedError, stop_on_interrupt
from producer.replay import Scheduled, publish_schedule


def test_a_stop_counts_every_event_delivered_failed_or_not_sent() -> None:
    producer = Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 60_000})
    stop = StopRequest()
    schedule = [Scheduled(0.0, "t", b"k%d" % i, b"v") for i in range(100)]
    sent: list[None] = []

    def on_sent() -> None:
        sent.append(None)
        if len(sent) == 10:
            stop.set()
            stop.set()  # insistent: no wait for a broker that is not there

    report = publish_schedule(producer, schedule, on_sent, flush_timeout_s=60, stop=stop)
    assert (report.delivered, report.failed, report.not_sent, report.interrupted) == (0, 0, 100, True)
    assert len(producer) == 0, "nothing left in the queue for librdkafka to complain about at exit"
    assert report.summary() == "delivered 0, failed 0, not sent 100"


def test_events_the_broker_never_takes_count_as_failed() -> None:
    """A broker lost during a replay: nothing delivered is a failure, not a green `delivered 0, failed 0`."""
    producer = Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 1_000})
    schedule = [Scheduled(0.0, "t", b"k%d" % i, b"v") for i in range(3)]
    report = publish_schedule(producer, schedule, flush_timeout_s=10)
    assert (report.delivered, report.failed, report.not_sent, report.interrupted) == (0, 3, 0, False)
    assert report.first_error
    assert report.summary() == "delivered 0, failed 3, not sent 0"


def test_sigint_sets_the_request_and_the_old_handler_comes_back() -> None:
    before = signal.getsignal(signal.SIGINT)
    with stop_on_interrupt() as stop:
        signal.raise_signal(signal.SIGINT)
        assert stop.is_set() and not stop.insistent
    assert signal.getsignal(signal.SIGINT) is before


def test_inside_raising_a_stop_raises_at_once() -> None:
    with stop_on_interrupt() as stop:
        try:
            with stop.raising():
                signal.raise_signal(signal.SIGINT)
            raised = False
        except StopRequestedError:
            raised = True
    assert raised and stop.is_set()
