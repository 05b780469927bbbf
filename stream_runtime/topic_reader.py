"""A topic read from its beginning to its end as it is now (the control topic at start, the monitor's report), and
one followed after that."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

OFFSET_BEGINNING = -2
log = logging.getLogger("stream_runtime")

# A partition's end is known from a fetch's answer, and at the end the broker holds a fetch for new records up to
# `fetch.wait.max.ms` (librdkafka's 500 ms): a one-off read of a quiet topic would wait that long, and more,
# for nothing. A reader that follows its topic keeps the default: at 50 ms it would ask ten times as often, idle.
ONE_OFF_FETCH_WAIT_MS = 50


def reader(config: dict[str, Any], group_id: str | None = None, one_off: bool = False) -> Consumer:
    """A consumer that only reads: committed records only, never commits, reports each partition's end.
    `one_off`: it reads to the end once and is closed, so the broker answers at a partition's end at once."""
    return Consumer(
        {
            **config,
            "group.id": group_id or f"flightdelay-reader-{uuid.uuid4().hex[:8]}",  # required; never joined
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            **({"fetch.wait.max.ms": ONE_OFF_FETCH_WAIT_MS} if one_off else {}),
        }
    )


def read_to_end(
    consumer: Consumer,
    topic: str,
    partitions: list[int],
    timeout_s: float,
    on_progress: Callable[[int], None] | None = None,
) -> list[Message]:
    """Every record now in `partitions` of `topic`, in each partition's order; `on_progress(count)` after each
    fetch. Times out with a Kafka error rather than waiting forever on a broker that does not answer."""
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    records: list[Message] = []
    at_end: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while len(at_end) < len(partitions):
        if time.monotonic() > deadline:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, f"reading {topic} to its end"))
        # consume() returns at 1,000 records or at its timeout: at a partition's end, always the timeout.
        for message in consumer.consume(1000, timeout=0.1):
            error = message.error()
            if error is not None and error.code() == KafkaError._PARTITION_EOF:
                at_end.add(message.partition() or 0)
            elif error is None:
                records.append(message)
        if on_progress is not None:
            on_progress(len(records))
    return records


def partitions_of(consumer: Consumer, topic: str, timeout_s: float) -> list[int] | None:
    """The topic's partitions, or None when it does not exist (yet)."""
    metadata = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
    if metadata is None or metadata.error is not None:
        return None
    return sorted(metadata.partitions)


def read_topic(config: dict[str, Any], topic: str, timeout_s: float) -> list[Message] | None:
    """Every record now in every partition of `topic` with a reader of its own; None when it does not exist."""
    follower = TopicFollower(config, topic, one_off=True)
    try:
        return follower.start(timeout_s)
    finally:
        follower.close()


class TopicFollower:
    """A topic followed from its beginning by a consumer of its own, assigned to every partition, never in a group
    and never committing: for a compacted topic whose records, replayed in order, give the state now."""

    def __init__(self, config: dict[str, Any], topic: str, group_id: str | None = None, one_off: bool = False) -> None:
        self.topic = topic
        self._consumer = reader(config, group_id, one_off)

    def start(self, timeout_s: float) -> list[Message] | None:
        """Every record now in the topic, in each partition's order; None when the topic does not exist yet (its
        first partition is followed, so its records arrive by `poll` once it does)."""
        partitions = partitions_of(self._consumer, self.topic, timeout_s)
        if partitions is None:
            self._consumer.assign([TopicPartition(self.topic, 0, OFFSET_BEGINNING)])
            return None
        return read_to_end(self._consumer, self.topic, partitions, timeout_s)

    def poll(self) -> list[Message]:
        """Records that arrived since the last call; never waits."""
        records: list[Message] = []
        for message in self._consumer.consume(100, timeout=0):
            error = message.error()
            if error is None:
                records.append(message)
            elif error.code() != KafkaError._PARTITION_EOF:
                log.warning("%s: %s", self.topic, error.str())
        return records

    def close(self) -> None:
        self._consumer.close()
