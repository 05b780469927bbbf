"""Session-wide real Kafka broker: configured, Docker (testcontainers) or a local JVM, in that order."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Protocol

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_common.provider import BrokerEndpoint, kafka_broker
from kafka_common.topics import wait_for_topics


class MakeTopic(Protocol):
    def __call__(self, prefix: str = ..., partitions: int = ...) -> str: ...


@pytest.fixture(scope="session")
def kafka() -> Iterator[BrokerEndpoint]:
    with kafka_broker() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def bootstrap(kafka: BrokerEndpoint) -> str:
    return kafka.bootstrap_servers


@pytest.fixture(scope="session")
def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


@pytest.fixture
def make_topic(admin: AdminClient) -> Iterator[MakeTopic]:
    """Create uniquely named topics for one test and delete them afterwards."""
    created: list[str] = []

    def make(prefix: str = "t", partitions: int = 6) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result()
        created.append(name)
        wait_for_topics(admin, [name])
        return name

    yield make
    if created:
        for future in admin.delete_topics(created).values():
            future.result()
