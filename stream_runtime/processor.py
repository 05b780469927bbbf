"""The contract between the runtime and what runs on it.

A processor turns a batch of records into outputs per topic and the input offsets to commit with them
(`process`); the runtime commits both in one transaction (or, at-least-once, outputs then offsets) and tells
the processor which happened (`committed`, `aborted`). The other hooks are optional: work between batches
(`between_batches`, where the scorer swaps models), work that is due without input (`due`), and the partitions
that come and go (`assigned`, `recover`, `revoked`). Every hook runs on the loop's thread, one at a time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from confluent_kafka import Message, TopicPartition

from stream_runtime.committers import Outputs
from stream_runtime.health import HealthState

T = TypeVar("T")


@dataclass(frozen=True)
class Batch(Generic[T]):
    """What one batch writes, the offsets committed with it, and what the processor wants back when it is
    committed (`context`: the scorer's counts, the monitor's joined pairs)."""

    outputs: Outputs
    offsets: list[TopicPartition]
    context: T


class ConsumerView(Protocol):
    """What a processor may ask of the runtime's consumer: where it stands, never to move it."""

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]: ...

    def committed(self, partitions: list[TopicPartition], timeout: float = ...) -> list[TopicPartition]: ...


@dataclass(frozen=True)
class RuntimeView:
    """What the runtime lends its processor: the consumer to ask, and the readiness it reports."""

    consumer: ConsumerView
    health: HealthState


class Processor(ABC, Generic[T]):
    """Subclass and implement `process` and `committed`; every other hook does nothing unless overridden."""

    #: True when newly assigned partitions must be recovered (`recover`) before they are read; they stay paused
    #: until then, and recovery runs from the loop, not inside the rebalance callback.
    recovers_state = False

    def attach(self, runtime: RuntimeView) -> None:
        """Called once, before `start`."""

    def start(self) -> None:
        """Before the first batch, once the broker answers (load a model, read a control topic)."""

    def description(self) -> Mapping[str, Any]:
        """Fields of the start-up log line."""
        return {}

    @abstractmethod
    def process(self, records: Sequence[Message], now: datetime, due: bool) -> Batch[T]:
        """One batch. `due` is the runtime's answer of `due()` for this batch: do the due work now (`records` is
        empty when it alone asked for a batch)."""

    @abstractmethod
    def committed(self, batch: Batch[T]) -> None:
        """The batch's outputs and offsets are committed."""

    def aborted(self, records: Sequence[Message]) -> None:
        """The batch was not committed; the runtime has rewound its partitions to read it again."""

    def between_batches(self) -> None:
        """Before each read: nothing of a batch is open."""

    def due(self) -> bool:
        """True when work is due whatever the input does. Asked after every read: the batch is then processed
        with `due=True`, with the records read or with none, so due work runs on time whether or not input keeps
        arriving."""
        return False

    def assigned(self, partitions: list[TopicPartition]) -> None:
        """Partitions were assigned (inside the rebalance callback: keep it short)."""

    def recover(self, partitions: list[TopicPartition]) -> None:
        """Rebuild the state of newly assigned partitions (when `recovers_state`); they are paused meanwhile."""

    def revoked(self, partitions: list[TopicPartition]) -> None:
        """Partitions were revoked or lost: their state belongs to another instance now."""

    def close(self) -> None:
        """The loop has ended; release what `start` opened. Must not raise."""
