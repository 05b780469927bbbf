"""The record a batch is made of, as a `Protocol`: confluent-kafka's `Message` is one, and so is a test's object."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from confluent_kafka import Message, TopicPartition

from stream_runtime.exits import ExitCode, ServiceExit

log = logging.getLogger("consumer")

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


@dataclass(frozen=True)
class PlainRecord:
    """A `Record` built by hand: an event that did not come from Kafka (`POST /predict`, unit tests)."""

    raw_value: bytes | None
    raw_key: bytes | None = None
    raw_offset: int = 0
    raw_partition: int = 0
    raw_topic: str = ""  # no topic unless the builder names one (a test, the HTTP source)
    raw_timestamp_ms: int = 1_700_000_000_000
    raw_headers: list[tuple[str, str | bytes | None]] = field(default_factory=list)

    def value(self) -> bytes | None:
        return self.raw_value

    def key(self) -> bytes | None:
        return self.raw_key

    def headers(self) -> Headers:
        return list(self.raw_headers) or None

    def topic(self) -> str | None:
        return self.raw_topic

    def partition(self) -> int | None:
        return self.raw_partition

    def offset(self) -> int | None:
        return self.raw_offset

    def timestamp(self) -> tuple[int, int]:
        return (1, self.raw_timestamp_ms)


@dataclass(frozen=True)
class RecordFields:
    """A batch's records read once, field by field: the transform's columns of raw input."""

    values: list[bytes | None]
    keys: list[bytes | None]
    topics: list[str | None]
    partitions: list[int | None]
    offsets: list[int | None]
    timestamps: list[tuple[int, int]]  # (kind, milliseconds), kind 0 when the record has none
    milliseconds: list[int]  # the timestamps' milliseconds alone, what predictions carry as `event_time`

    @classmethod
    def of(cls, records: Sequence[Record]) -> RecordFields:
        timestamps = [record.timestamp() for record in records]
        return cls(
            values=[record.value() for record in records],
            keys=[record.key() for record in records],
            topics=[record.topic() for record in records],
            partitions=[record.partition() for record in records],
            offsets=[record.offset() for record in records],
            timestamps=timestamps,
            milliseconds=[stamp for _, stamp in timestamps],
        )

    def next_offsets(self) -> list[TopicPartition]:
        return _next_offsets(self.topics, self.partitions, self.offsets)


def next_offsets(records: Sequence[Record]) -> list[TopicPartition]:
    """Offsets to commit: one past the last record of each partition in the batch."""
    return _next_offsets(
        [record.topic() for record in records],
        [record.partition() for record in records],
        [record.offset() for record in records],
    )


def _next_offsets(
    topics: Sequence[str | None], partitions: Sequence[int | None], offsets: Sequence[int | None]
) -> list[TopicPartition]:
    last: dict[tuple[str, int], int] = {}
    for topic, partition, offset in zip(topics, partitions, offsets, strict=True):
        key = (topic or "", partition or 0)
        if (offset or 0) >= last.get(key, -1):
            last[key] = offset or 0
    return [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in sorted(last.items())]


def first_offsets(records: Sequence[Record]) -> list[TopicPartition]:
    """Where the batch starts: the first record's offset in each of its partitions."""
    first: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic() or "", record.partition() or 0)
        offset = record.offset() or 0
        if offset < first.get(key, offset + 1):
            first[key] = offset
    return [TopicPartition(topic, partition, offset) for (topic, partition), offset in sorted(first.items())]


def usable_records(messages: list[Message]) -> list[Message]:
    """The records of a consumed batch; consume errors are logged, a fatal one ends the process."""
    records: list[Message] = []
    for message in messages:
        error = message.error()
        if error is None:
            records.append(message)
        elif error.fatal():
            raise ServiceExit(ExitCode.FATAL, f"the consumer failed fatally: {error.str()}")
        else:
            log.warning("consume error: %s", error.str())
    return records
