"""Types of the broker fixtures (conftest's), for the tests that take them, and what a topic holds."""

from __future__ import annotations

from typing import Protocol

from confluent_kafka import Consumer, TopicPartition


class MakeTopic(Protocol):
    def __call__(self, prefix: str = ..., partitions: int = ...) -> str: ...


def end_offsets(bootstrap: str, topic: str) -> int:
    """The records ever written to `topic`, summed over its partitions (transaction markers included)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "ends"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions)
    finally:
        consumer.close()
