"""The model control topic, read and written: what the scorers follow and what `training promote` writes.

Reading uses a consumer of its own, assigned to every partition from the start and never in a group or
committing: the compacted topic's last record per role is the lineup, and each new record is a change.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException, Producer
from pydantic import ValidationError

from kafka_common.delivery import deliver
from schemas.model_control import ModelControl, ModelRole
from stream_runtime.topic_reader import TopicFollower

log = logging.getLogger("kafka_common")


@dataclass(frozen=True)
class InvalidControl:
    """A record on the control topic that is not a `ModelControl`: the role its key claims (None when the key
    names none) and why it was refused."""

    role: ModelRole | None
    reason: str

    def __str__(self) -> str:
        return self.reason


ControlRecord = ModelControl | InvalidControl


class ControlReader:
    """The control topic from its start: a consumer of its own, assigned to every partition, never committing."""

    def __init__(self, config: dict[str, Any], topic: str, one_off: bool = False) -> None:
        self.topic = topic
        self._follower = TopicFollower(config, topic, "flightdelay-model-control-reader", one_off)

    def read_to_end(self, timeout_s: float) -> list[ControlRecord]:
        """Every record now in the topic, in order (an `InvalidControl` for one that is not a `ModelControl`)."""
        messages = self._follower.start(timeout_s)
        if messages is None:
            log.warning("no model control topic %s yet: serving MODEL_URI; following it once it exists", self.topic)
            return []
        return [_parse(message.key(), message.value()) for message in messages]

    def poll(self) -> list[ControlRecord]:
        """Records that arrived since the last call; never waits."""
        return [_parse(message.key(), message.value()) for message in self._follower.poll()]

    def close(self) -> None:
        self._follower.close()


def _parse(key: bytes | None, value: bytes | None) -> ControlRecord:
    try:
        return ModelControl.model_validate_json(value or b"")
    except ValidationError as exc:
        claimed = (key or b"").decode("utf-8", "replace")
        role = ModelRole(claimed) if claimed in {str(r) for r in ModelRole} else None
        return InvalidControl(role, f"not a model control record: {exc.errors(include_url=False)[0]['msg']}")


def latest_by_role(records: list[ControlRecord]) -> dict[ModelRole, ModelControl]:
    """The last valid record of each role: what the compacted topic converges to."""
    latest: dict[ModelRole, ModelControl] = {}
    for record in records:
        if isinstance(record, ModelControl):
            latest[record.role] = record
    return latest


def write_control(config: dict[str, Any], topic: str, record: ModelControl, timeout_s: float = 30.0) -> None:
    """Publish one record (idempotent, acks=all) and wait until the broker has it; raise if it does not."""
    deliver(config, topic, [(record.key, record.model_dump_json().encode())], timeout_s)


def write_controls_atomically(
    config: dict[str, Any], topic: str, records: list[ModelControl], transactional_id: str, timeout_s: float = 30.0
) -> None:
    """Publish several records in one transaction: a reader (read_committed) sees all of them or none. Every
    writer with the same `transactional_id` fences the one before it, so a writer that lost its turn (a monitor
    whose partitions moved) cannot write after its successor has started."""
    producer = Producer({**config, "transactional.id": transactional_id, "enable.idempotence": True, "acks": "all"})
    producer.init_transactions(timeout_s)
    producer.begin_transaction()
    try:
        for record in records:
            producer.produce(topic, key=record.key, value=record.model_dump_json().encode())
        producer.commit_transaction(timeout_s)
    except KafkaException:
        with contextlib.suppress(KafkaException):  # a fenced producer cannot abort either: its successor does
            producer.abort_transaction(timeout_s)
        raise
