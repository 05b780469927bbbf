"""Publish a few records and wait until the broker has every one: what the control commands write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer


def deliver(
    config: dict[str, Any], topic: str, records: Sequence[tuple[bytes, bytes | None]], timeout_s: float
) -> None:
    """Produce each (key, value) (idempotent, acks=all; a None value is a tombstone); raise if any is not
    delivered within `timeout_s`."""
    producer = Producer({**config, "enable.idempotence": True, "acks": "all"})
    failures: list[KafkaError] = []

    def delivered(error: KafkaError | None, _message: object) -> None:
        if error is not None:
            failures.append(error)

    for key, value in records:
        producer.produce(topic, key=key, value=value, on_delivery=delivered)
    if producer.flush(timeout_s) or failures:
        reason = failures[0].str() if failures else f"not delivered within {timeout_s:.0f} s"
        raise KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT, f"writing to {topic}: {reason}"))
