"""The record a batch is made of, as a `Protocol`: confluent-kafka's `Message` is one, and so is a test's object."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from confluent_kafka import TopicPartition

Headers = list[tuple[str, str | bytes | None]] | dict[str, str | bytes | None] | None


class Record(Protocol):
    """What the transform reads of an input record (the methods of `confluent_kafka.Message`)."""

    def value(self) -> bytes | None: ...

    def key(self) -> bytes | None: ...

    def headers(self) -> Headers: ...

    def topic(self) -> str | None: ...

    def partition(self) -> int | None: ...

    def offset(self) -> int | None: ...

    def timestamp(self) -> tuple[int, int]: ...


def next_offsets(records: Sequence[Record]) -> list[TopicPartition]:
    """Offsets to commit: one past the last record of each partition in the batch."""
    last: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic() or "", record.partition() or 0)
        last[key] = max(last.get(key, -1), record.offset() or 0)
    return [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in sorted(last.items())]
