"""Dead letters back onto the input topic: after a fix (a model that knows a new airline is promoted), the letters
an operator selects are re-published with their original key, bytes and headers.

Each run reads the dead-letter topic from where this redrive group last stopped to its end as it is now. Each
batch is one transaction: the selected originals go to the input topic and the group's dead-letter offsets are
committed with them, so a run killed half-way leaves no record it published uncommitted (readers are
read_committed) and the next run takes over at the last committed batch: each letter is redriven at most once
per group, none lost. A redriven record carries a header naming the letter it came from; when it fails again, its
new dead letter carries that header too, and is never redriven again (a poison record does not loop).
"""

from __future__ import annotations

import base64
import contextlib
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from pydantic import ValidationError

from producer.interrupt import StopRequest
from schemas import DeadLetter
from stream_runtime.topic_reader import OFFSET_BEGINNING, partitions_of

REDRIVE_HEADER = "flightdelay-redrive-of"  # "<dead-letter topic>/<partition>/<offset>" of the letter redriven
Original = tuple[bytes | None, bytes | None, list[tuple[str, str | bytes | None]]]


@dataclass(frozen=True)
class Selection:
    """Which dead letters to redrive; None selects every value of that field."""

    kinds: frozenset[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    source_topic: str | None = None


def skip_reason(letter: DeadLetter, selection: Selection) -> str | None:
    """Why `letter` is not redriven, or None when it is."""
    if selection.kinds is not None and letter.error_kind not in selection.kinds:
        return "another kind"
    if selection.since is not None and letter.dead_lettered_at < selection.since:
        return "before --since"
    if selection.until is not None and letter.dead_lettered_at >= selection.until:
        return "at or after --until"
    if selection.source_topic is not None and letter.source.topic != selection.source_topic:
        return "another source topic"
    if any(header.key == REDRIVE_HEADER for header in letter.headers):
        return "redriven once already and failed again"
    if letter.value_base64 is None and letter.value_sha256 is not None:
        return "value too large to have been kept"
    return None


def original(letter: DeadLetter, position: str) -> Original:
    """The record as it first arrived (key, value, headers), and the header naming the letter it comes from."""
    headers = [(h.key, _bytes(h.value_base64)) for h in letter.headers]
    return _bytes(letter.key_base64), _bytes(letter.value_base64), [*headers, (REDRIVE_HEADER, position.encode())]


def _shown_key(letter: DeadLetter) -> str:
    """The letter's original key as a person reads it: text when it is UTF-8, else its bytes."""
    key = _bytes(letter.key_base64)
    if key is None:
        return "(none)"
    try:
        return repr(key.decode())
    except UnicodeDecodeError:
        return repr(key)


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text, validate=True)


@dataclass
class RedriveReport:
    """What a run did (or, dry, would do)."""

    read: int = 0
    kinds: Counter[str] = field(default_factory=Counter)  # the letters redriven, by error kind
    skipped: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # the first letters selected, for people

    @property
    def redriven(self) -> int:
        return sum(self.kinds.values())


class Redrive:
    """One run over a dead-letter topic for one redrive group."""

    def __init__(
        self, config: dict[str, Any], dead_letter_topic: str, input_topic: str, group: str, batch_size: int = 500
    ) -> None:
        self.config, self.dead_letter_topic, self.input_topic = config, dead_letter_topic, input_topic
        self.group, self.batch_size = group, batch_size

    def run(
        self,
        selection: Selection,
        dry_run: bool,
        on_batch: Callable[[RedriveReport], None] | None = None,
        stop: StopRequest | None = None,
    ) -> RedriveReport:
        """Batch by batch, each one transaction; a stop is honoured between batches, so what was sent is
        committed with it."""
        stop = stop or StopRequest()
        consumer = Consumer(
            {**self.config, "group.id": self.group, "enable.auto.commit": False, "isolation.level": "read_committed",
             "auto.offset.reset": "earliest", "enable.partition.eof": True}
        )  # fmt: skip
        producer = None if dry_run else self._producer()
        report = RedriveReport()
        try:
            partitions = partitions_of(consumer, self.dead_letter_topic, 30)
            if partitions is None:
                raise KafkaException(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, f"no topic {self.dead_letter_topic}"))
            ends = self._ends(consumer, partitions)
            committed = consumer.committed([TopicPartition(self.dead_letter_topic, p) for p in partitions], timeout=30)
            consumer.assign(
                [
                    TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING)
                    for tp in committed
                ]
            )
            done = {tp.partition for tp in committed if tp.offset >= ends[tp.partition]}
            while len(done) < len(partitions) and not stop.is_set():
                batch = [m for m in consumer.consume(self.batch_size, timeout=1.0) if self._keep(m, ends, done)]
                if batch:
                    self._batch(consumer, producer, batch, selection, report)
                    if on_batch:
                        on_batch(report)
            return report
        finally:
            consumer.close()

    def _producer(self) -> Producer:
        producer = Producer(
            {**self.config, "transactional.id": f"{self.group}-{self.dead_letter_topic}", "enable.idempotence": True,
             "acks": "all"}
        )  # fmt: skip
        producer.init_transactions(30)  # aborts whatever a killed run of this group left open
        return producer

    def _ends(self, consumer: Consumer, partitions: list[int]) -> dict[int, int]:
        """Where the topic ends now: letters written after the run starts wait for the next run."""
        return {
            p: consumer.get_watermark_offsets(TopicPartition(self.dead_letter_topic, p), timeout=30)[1]
            for p in partitions
        }

    @staticmethod
    def _keep(message: Message, ends: dict[int, int], done: set[int]) -> bool:
        partition, offset = message.partition() or 0, message.offset() or 0
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                raise KafkaException(error)
            done.add(partition)
            return False
        if offset + 1 >= ends[partition]:
            done.add(partition)
        return offset < ends[partition]

    def _batch(
        self,
        consumer: Consumer,
        producer: Producer | None,
        batch: list[Message],
        selection: Selection,
        report: RedriveReport,
    ) -> None:
        selected: list[Original] = []
        kinds: Counter[str] = Counter()
        for message in batch:
            position = f"{message.topic()}/{message.partition()}/{message.offset()}"
            try:
                letter = DeadLetter.model_validate_json(message.value() or b"")
            except ValidationError:
                report.skipped["not a dead letter"] += 1
                continue
            reason = skip_reason(letter, selection)
            if reason is not None:
                report.skipped[reason] += 1
                continue
            selected.append(original(letter, position))
            kinds[letter.error_kind] += 1
            if len(report.examples) < 10:
                report.examples.append(f"{position} key {_shown_key(letter)}: {letter.error_kind}: {letter.reason}")
        report.read += len(batch)
        if producer is None:  # dry run: nothing written, nothing committed
            report.kinds.update(kinds)
            return
        offsets = [TopicPartition(self.dead_letter_topic, p, offset + 1) for p, offset in _last_offsets(batch).items()]
        producer.begin_transaction()
        try:
            for key, value, headers in selected:
                producer.produce(self.input_topic, value=value, key=key, headers=headers)
            producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 30)
            producer.commit_transaction(60)
        except KafkaException:
            # Nothing of this batch is visible and its offsets stay where they were: a rerun takes it again.
            with contextlib.suppress(KafkaException):
                producer.abort_transaction(30)
            raise
        report.kinds.update(kinds)


def _last_offsets(batch: list[Message]) -> dict[int, int]:
    last: dict[int, int] = {}
    for message in batch:
        last[message.partition() or 0] = message.offset() or 0
    return last


def new_group() -> str:
    """A redrive group of its own: every letter in the topic is considered again."""
    return f"flightdelay-redrive-{uuid.uuid4().hex[:8]}"
