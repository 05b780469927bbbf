"""Topics as code: create the scorer's topics idempotently and report drift from the configuration."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from kafka_common.settings import TopicSettings


@dataclass(frozen=True)
class TopicSpec:
    """What one topic should look like."""

    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str] = field(default_factory=dict)


@dataclass
class TopicStatus:
    """Outcome of ensuring one topic: created, already as configured, or existing but different."""

    name: str
    state: Literal["created", "unchanged", "differs"]
    differences: list[str] = field(default_factory=list)


def topic_specs(settings: TopicSettings) -> list[TopicSpec]:
    """Every topic of the scorer and the monitor described by the settings (the control topic last).

    The control topic has one partition (one order for every role) and is compacted: the last record of each
    role stays readable forever, and each record names the model it replaced, so nothing else is needed.
    """

    def spec(name: str, retention_ms: int, **extra: str) -> TopicSpec:
        return TopicSpec(
            name=name,
            partitions=settings.partitions,
            replication_factor=settings.replication_factor,
            config={"retention.ms": str(retention_ms), "cleanup.policy": "delete", **extra},
        )

    return [
        spec(settings.input, settings.retention_ms),
        spec(settings.predictions, settings.retention_ms),
        spec(
            settings.dead_letter,
            settings.dead_letter_retention_ms,
            **{"max.message.bytes": str(settings.dead_letter_max_message_bytes)},
        ),
        spec(settings.shadow_predictions, settings.retention_ms),
        spec(settings.outcomes, settings.outcomes_retention_ms),
        spec(settings.joined, settings.retention_ms),
        spec(settings.model_metrics, settings.retention_ms),
        *(
            TopicSpec(
                name=name, partitions=1, replication_factor=settings.replication_factor,
                config={"cleanup.policy": "compact"},
            )
            for name in (settings.model_control, settings.model_fleet)
        ),
    ]  # fmt: skip


def ensure_topics(admin: AdminClient, specs: list[TopicSpec], timeout_s: float = 30.0) -> list[TopicStatus]:
    """Create missing topics; never alter existing ones, but say exactly how they differ from `specs`."""
    existing = admin.list_topics(timeout=timeout_s).topics
    missing = [s for s in specs if s.name not in existing]
    statuses: dict[str, TopicStatus] = {}
    if missing:
        futures = admin.create_topics(
            [
                NewTopic(
                    s.name,
                    num_partitions=s.partitions,
                    replication_factor=s.replication_factor,
                    config=s.config,
                )
                for s in missing
            ],
            operation_timeout=timeout_s,
            request_timeout=timeout_s,
        )
        for name, future in futures.items():
            try:
                future.result()
                statuses[name] = TopicStatus(name, "created")
            except KafkaException as exc:
                if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":  # lost a race with another creator
                    raise
    metadata = wait_for_topics(admin, [s.name for s in specs], timeout_s)
    present = [s for s in specs if s.name not in statuses]
    if present:
        configs = _describe_configs(admin, [s.name for s in present], timeout_s)
        for spec in present:
            diffs = _differences(spec, metadata[spec.name], configs[spec.name])
            statuses[spec.name] = TopicStatus(spec.name, "differs" if diffs else "unchanged", diffs)
    return [statuses[s.name] for s in specs]


def wait_for_topics(admin: AdminClient, names: list[str], timeout_s: float = 30.0) -> dict[str, Any]:
    """Block until metadata shows every topic with a leader for each partition (creation is asynchronous)."""
    deadline = time.monotonic() + timeout_s
    while True:
        topics = admin.list_topics(timeout=timeout_s).topics
        ready = all(
            name in topics
            and topics[name].error is None
            and topics[name].partitions
            and all(p.leader >= 0 for p in topics[name].partitions.values())
            for name in names
        )
        if ready:
            return {name: topics[name] for name in names}
        if time.monotonic() > deadline:
            missing = [n for n in names if n not in topics]
            raise TimeoutError(f"topics not ready after {timeout_s:.0f} s (missing: {missing or 'none'})")
        time.sleep(0.1)


def _describe_configs(admin: AdminClient, names: list[str], timeout_s: float) -> dict[str, dict[str, str]]:
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in names]
    result: dict[str, dict[str, str]] = {}
    for resource, future in admin.describe_configs(resources, request_timeout=timeout_s).items():
        entries = future.result()
        result[resource.name] = {key: entry.value for key, entry in entries.items()}
    return result


def _differences(spec: TopicSpec, metadata: Any, config: dict[str, str]) -> list[str]:
    diffs: list[str] = []
    partitions = len(metadata.partitions)
    if partitions != spec.partitions:
        diffs.append(f"partitions: has {partitions}, configured {spec.partitions}")
    replicas = min((len(p.replicas) for p in metadata.partitions.values()), default=0)
    if replicas != spec.replication_factor:
        diffs.append(f"replication factor: has {replicas}, configured {spec.replication_factor}")
    for key, wanted in spec.config.items():
        actual = config.get(key)
        if actual != wanted:
            diffs.append(f"{key}: has {actual}, configured {wanted}")
    return diffs
