"""Pick the broker a process or test session talks to: configured, Docker-based, or a local JVM.

Order: `KAFKA_BOOTSTRAP_SERVERS` if set; else testcontainers' Kafka module if a Docker engine answers; else
the local JVM broker of `local_stack.broker`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from local_stack.broker import LocalKafkaBroker
from stream_runtime.settings import KafkaSettings

log = logging.getLogger(__name__)

BrokerKind = Literal["external", "testcontainers", "local-jvm"]


@dataclass
class BrokerEndpoint:
    """Where the broker is, what kind it is and, for the local JVM, the handle to stop or restart it."""

    bootstrap_servers: str
    kind: BrokerKind
    local: LocalKafkaBroker | None = None


def docker_engine_available() -> bool:
    """True when a Docker engine answers a ping (the `docker` CLI alone is not enough)."""
    try:
        import docker  # optional: only the dev install has it

        client = docker.from_env(timeout=3)
        client.ping()
        client.close()
        return True
    except Exception:  # any failure means "no usable engine"
        return False


@contextlib.contextmanager
def kafka_broker(settings: KafkaSettings | None = None) -> Iterator[BrokerEndpoint]:
    """Yield a reachable broker for the duration of the block; stop it afterwards if we started it."""
    settings = settings or KafkaSettings()
    if settings.bootstrap_servers:
        log.info("using the configured broker %s", settings.bootstrap_servers)
        yield BrokerEndpoint(settings.bootstrap_servers, "external")
        return
    if docker_engine_available():
        from testcontainers.kafka import KafkaContainer

        log.info("starting Kafka in Docker with testcontainers")
        with KafkaContainer().with_kraft() as container:
            yield BrokerEndpoint(container.get_bootstrap_server(), "testcontainers")
        return
    with LocalKafkaBroker() as broker:
        yield BrokerEndpoint(broker.bootstrap_servers, "local-jvm", broker)
