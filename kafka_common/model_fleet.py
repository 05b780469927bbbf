"""The fleet topic, written and read: what each scorer instance serves, for `training models` and for a first
promotion to know which champion it replaces.

Advisory: a scorer that cannot write its status logs it and goes on scoring. The topic is compacted and keyed
by instance, so its newest record per key is that instance's lineup; a clean stop writes a tombstone.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from pydantic import ValidationError

from schemas.model_control import ModelRef, RefusedRecord, ServingStatus
from stream_runtime.topic_reader import read_topic

log = logging.getLogger("kafka_common")
FLUSH_TIMEOUT_S = 5.0


class FleetWriter:
    """One scorer's status on the fleet topic; `publish` when its lineup or a refusal changes."""

    def __init__(self, config: dict[str, Any], topic: str, group_id: str, instance: str) -> None:
        self.topic, self.group_id, self.instance = topic, group_id, instance
        self._config = {
            **config, "enable.idempotence": True, "acks": "all", "linger.ms": 0,
            "logger": logging.getLogger("librdkafka"),  # the service's log filters, not librdkafka's stderr
        }  # fmt: skip
        self._producer: Producer | None = None  # made at the first status: no connection before there is news
        self._served: tuple[ModelRef, ModelRef | None] | None = None
        self._since = datetime.now(UTC)

    def publish(self, champion: ModelRef, challenger: ModelRef | None, refused: RefusedRecord | None) -> None:
        now = datetime.now(UTC)
        if self._served != (champion, challenger):
            self._served, self._since = (champion, challenger), now
        status = ServingStatus(
            instance=self.instance, group_id=self.group_id, champion=champion, challenger=challenger,
            since=self._since, refused=refused, written_at=now,
        )  # fmt: skip
        self._produce(status.key, status.model_dump_json().encode())

    def withdraw(self) -> None:
        """The tombstone of a clean stop: this instance serves nothing any more."""
        if self._producer is None:
            return  # nothing was ever written, so there is nothing to withdraw
        self._produce(f"{self.group_id}/{self.instance}".encode(), None)
        if self._producer.flush(FLUSH_TIMEOUT_S):
            log.warning("fleet status of %s not withdrawn within %.0f s", self.instance, FLUSH_TIMEOUT_S)

    def _produce(self, key: bytes, value: bytes | None) -> None:
        if self._producer is None:
            self._producer = Producer(self._config)
        try:
            self._producer.produce(self.topic, key=key, value=value, on_delivery=_report)
            self._producer.poll(0)
        except (BufferError, KafkaException) as exc:  # advisory: never stops scoring
            log.warning("fleet status not written to %s: %s", self.topic, exc)


def _report(error: KafkaError | None, _message: Message) -> None:
    if error is not None:
        log.warning("fleet status not delivered: %s", error.str())


def newest_statuses(messages: list[Message]) -> dict[str, ServingStatus]:
    """Per instance key, its newest status; a tombstone removes the instance, an unreadable record is skipped."""
    fleet: dict[str, ServingStatus] = {}
    for message in messages:
        key = (message.key() or b"").decode(errors="replace")
        value = message.value()
        if value is None:
            fleet.pop(key, None)
            continue
        try:
            fleet[key] = ServingStatus.model_validate_json(value)
        except ValidationError:
            log.warning("fleet topic: skipping a record that is not a ServingStatus (key %r)", key)
    return fleet


def read_fleet(config: dict[str, Any], topic: str, timeout_s: float) -> dict[str, ServingStatus]:
    """What every instance that has not stopped cleanly says it serves (none when the topic does not exist)."""
    return newest_statuses(read_topic(config, topic, timeout_s) or [])


def served_champion(fleet: dict[str, ServingStatus]) -> ModelRef | None:
    """The champion the fleet serves when its instances agree on one; None when none runs or they differ."""
    champions = Counter(status.champion for status in fleet.values())
    return next(iter(champions)) if len(champions) == 1 else None
