"""Which errors a departures catch-up asks the broker again after, and which end it: a new topic's partitions have
no leader for a moment, and a catch-up within its bound waits that out instead of scoring a batch flagged late."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from stream_runtime.recovery import ErrorFacts
from training.departures_table import ASK_AGAIN_AFTER_S, ask_again

PLENTY = 1.0
TOO_LITTLE = 1.5 * ASK_AGAIN_AFTER_S


@pytest.mark.parametrize(
    ("facts", "remaining_s", "expected"),
    [
        # a new topic's leaders still being elected, as an admin client reports it (no retriable flag)
        (ErrorFacts(KafkaError.NOT_LEADER_FOR_PARTITION), PLENTY, True),
        (ErrorFacts(KafkaError.LEADER_NOT_AVAILABLE), PLENTY, True),
        (ErrorFacts(KafkaError.UNKNOWN_TOPIC_OR_PART), PLENTY, True),
        (ErrorFacts(KafkaError.REQUEST_TIMED_OUT), PLENTY, True),
        (ErrorFacts(KafkaError._TRANSPORT), PLENTY, True),
        # librdkafka's own word that it passes
        (ErrorFacts(KafkaError.UNKNOWN, retriable=True), PLENTY, True),
        # the bound is spent: the batch is scored with what is held, and says so
        (ErrorFacts(KafkaError.NOT_LEADER_FOR_PARTITION), TOO_LITTLE, False),
        (ErrorFacts(KafkaError.NOT_LEADER_FOR_PARTITION), 0.0, False),
        # errors that asking again cannot fix
        (ErrorFacts(KafkaError.TOPIC_AUTHORIZATION_FAILED), PLENTY, False),
        (ErrorFacts(KafkaError._AUTHENTICATION), PLENTY, False),
        (ErrorFacts(KafkaError.NOT_LEADER_FOR_PARTITION, fatal=True), PLENTY, False),
    ],
)
def test_a_catch_up_asks_again_only_after_a_passing_error_with_time_left(
    facts: ErrorFacts, remaining_s: float, expected: bool
) -> None:
    assert ask_again(facts, remaining_s) is expected
