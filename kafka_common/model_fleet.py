"""The fleet topic, written and read: what each scorer instance serves, for `training models`, for a first
promotion to know which champion it replaces, and for the monitor to know the champion no control record names.

Advisory: a scorer that cannot write its status logs it and goes on scoring. The topic is compacted and keyed
by instance, so its newest record per key is that instance's lineup; a clean stop writes a tombstone. A killed
instance writes none, so every instance also rewrites its status at a steady interval, and a status that has
missed `STALE_AFTER_REPORTS` of them is left behind: shown as such, and not counted as what the fleet serves.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from pydantic import ValidationError

from kafka_common.delivery import deliver
from schemas.model_control import ModelRef, RefusedRecord, ServingStatus
from stream_runtime.topic_reader import TopicFollower, read_topic

log = logging.getLogger("kafka_common")
FLUSH_TIMEOUT_S = 5.0
STALE_AFTER_REPORTS = 3  # one or two writes lost, or a clock a little apart, is not an instance gone


class FleetWriter:
    """One scorer's status on the fleet topic; `publish` when its lineup or a refusal changes, and whenever
    `report_due` says the last one is `report_every_s` old."""

    def __init__(self, config: dict[str, Any], topic: str, group_id: str, instance: str, report_every_s: float) -> None:
        self.topic, self.group_id, self.instance = topic, group_id, instance
        self.report_every_s = report_every_s
        self._written_at: float | None = None  # monotonic, of the last status written
        self._config = {
            **config, "enable.idempotence": True, "acks": "all", "linger.ms": 0,
            "logger": logging.getLogger("librdkafka"),  # the service's log filters, not librdkafka's stderr
        }  # fmt: skip
        self._producer: Producer | None = None  # made at the first status: no connection before there is news
        self._served: tuple[ModelRef, ModelRef | None] | None = None
        self._since = datetime.now(UTC)

    def report_due(self) -> bool:
        """True when the last status is `report_every_s` old: time to say again that this instance runs."""
        return self._written_at is None or time.monotonic() - self._written_at >= self.report_every_s

    def publish(self, champion: ModelRef, challenger: ModelRef | None, refused: RefusedRecord | None) -> None:
        now = datetime.now(UTC)
        self._written_at = time.monotonic()
        if self._served != (champion, challenger):
            self._served, self._since = (champion, challenger), now
        status = ServingStatus(
            instance=self.instance, group_id=self.group_id, champion=champion, challenger=challenger,
            since=self._since, refused=refused, written_at=now, report_every_s=self.report_every_s,
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


def apply_statuses(fleet: dict[str, ServingStatus], messages: list[Message]) -> None:
    """Take `messages` into `fleet` (per instance key, its newest status), in order: a tombstone removes the
    instance, an unreadable record is skipped."""
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


def read_fleet(config: dict[str, Any], topic: str, timeout_s: float) -> dict[str, ServingStatus]:
    """What every instance that has not stopped cleanly says it serves (none when the topic does not exist)."""
    fleet: dict[str, ServingStatus] = {}
    apply_statuses(fleet, read_topic(config, topic, timeout_s) or [])
    return fleet


class FleetReader:
    """The fleet topic followed: `start` reads it to its end, `poll` takes what arrived since, never waiting."""

    def __init__(self, config: dict[str, Any], topic: str, one_off: bool = False) -> None:
        self._follower = TopicFollower(config, topic, one_off=one_off)
        self.statuses: dict[str, ServingStatus] = {}

    def start(self, timeout_s: float) -> None:
        apply_statuses(self.statuses, self._follower.start(timeout_s) or [])

    def poll(self) -> None:
        apply_statuses(self.statuses, self._follower.poll())

    def served_champion(self, now: datetime) -> ModelRef | None:
        return served_champion(self.statuses, now)

    def close(self) -> None:
        self._follower.close()


def is_stale(status: ServingStatus, now: datetime) -> bool:
    """Left behind by an instance that stopped without withdrawing it: `STALE_AFTER_REPORTS` of its reports
    missed. A status written only on change (no interval) cannot tell, and counts as running."""
    if status.report_every_s is None:
        return False
    return (now - status.written_at).total_seconds() > STALE_AFTER_REPORTS * status.report_every_s


def running(fleet: dict[str, ServingStatus], now: datetime) -> dict[str, ServingStatus]:
    """The statuses of instances that still report."""
    return {key: status for key, status in fleet.items() if not is_stale(status, now)}


def left_behind(fleet: dict[str, ServingStatus], now: datetime) -> dict[str, ServingStatus]:
    """The statuses of instances that stopped reporting without withdrawing them: the rest of the fleet."""
    return {key: status for key, status in fleet.items() if is_stale(status, now)}


def served_champion(fleet: dict[str, ServingStatus], now: datetime) -> ModelRef | None:
    """The champion the fleet serves when its running instances agree on one; None when none runs or they
    differ."""
    champions = Counter(status.champion for status in running(fleet, now).values())
    return next(iter(champions)) if len(champions) == 1 else None


def forget(config: dict[str, Any], topic: str, keys: list[str], timeout_s: float) -> None:
    """Write a tombstone for each instance key, as its clean stop would have: the compacted topic then drops
    its status. An instance that still runs (cut off from the broker for a while) writes its status again at its
    next report, so forgetting one by mistake costs nothing."""
    if keys:
        deliver(config, topic, [(key.encode(), None) for key in keys], timeout_s)
