"""Read the scorer's output topics as a `read_committed` client would: predictions and dead letters."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from confluent_kafka import Consumer, Message

from schemas import DeadLetter, DelayPrediction


def committed_reader(config: dict[str, Any], topics: list[str], from_beginning: bool = True) -> Consumer:
    """A throw-away group that sees only committed records."""
    consumer = Consumer(
        {
            **config,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest" if from_beginning else "latest",
        }
    )
    consumer.subscribe(topics)
    return consumer


def read_messages(
    consumer: Consumer, until: Callable[[], bool], idle_timeout_s: float, max_wait_s: float
) -> Iterator[Message]:
    """Yield records until `until()` holds, nothing arrived for `idle_timeout_s`, or `max_wait_s` passed."""
    deadline = time.monotonic() + max_wait_s
    last = time.monotonic()
    while not until() and time.monotonic() < deadline and time.monotonic() - last < idle_timeout_s:
        batch = consumer.consume(1000, timeout=0.5)
        for message in batch:
            if message.error() is None:
                last = time.monotonic()
                yield message


def parse_output(message: Message, predictions_topic: str) -> DelayPrediction | DeadLetter:
    value = message.value() or b""
    if message.topic() == predictions_topic:
        return DelayPrediction.model_validate_json(value)
    return DeadLetter.model_validate_json(value)
