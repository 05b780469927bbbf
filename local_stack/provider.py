"""Pick the broker a process or test session talks to: configured, Docker-based, or a local JVM.

Order: `KAFKA_BOOTSTRAP_SERVERS` if set; else testcontainers' Kafka module if a Docker engine answers and has (or
can pull) its images; else the local JVM broker of `local_stack.broker`.
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


# testcontainers' Kafka module's own default, named here so that it can be looked for before a session needs it.
KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"


def engine_runs_testcontainers_kafka() -> bool:
    """True when a Docker engine answers and holds, or can pull, the images testcontainers' Kafka module runs (the
    broker's and, unless disabled, its reaper's). An engine alone is not enough: one without a registry (this
    project's CI machines) would fail every broker test of a session on the first pull."""
    try:
        import docker  # optional: only the dev install has it
        from testcontainers.core.config import testcontainers_config
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=3)
    except Exception:  # no socket, no permission: no usable engine
        return False
    try:
        client.ping()
        images = [KAFKA_IMAGE, *([] if testcontainers_config.ryuk_disabled else [testcontainers_config.ryuk_image])]
        for image in images:
            try:
                client.images.get(image)
            except docker.errors.ImageNotFound:
                client.images.pull(image)
        return True
    except Exception as exc:  # not answering, or an image it neither holds nor can pull
        log.warning(
            "a Docker engine is here but cannot run testcontainers' Kafka (%s); using the local JVM broker", exc
        )
        return False
    finally:
        client.close()


@contextlib.contextmanager
def kafka_broker(settings: KafkaSettings | None = None) -> Iterator[BrokerEndpoint]:
    """Yield a reachable broker for the duration of the block; stop it afterwards if we started it."""
    settings = settings or KafkaSettings()
    if settings.bootstrap_servers:
        log.info("using the configured broker %s", settings.bootstrap_servers)
        yield BrokerEndpoint(settings.bootstrap_servers, "external")
        return
    if engine_runs_testcontainers_kafka():
        from testcontainers.community.kafka import KafkaContainer

        log.info("starting Kafka in Docker with testcontainers")
        with KafkaContainer(KAFKA_IMAGE).with_kraft() as container:
            yield BrokerEndpoint(container.get_bootstrap_server(), "testcontainers")
        return
    with LocalKafkaBroker() as broker:
        yield BrokerEndpoint(broker.bootstrap_servers, "local-jvm", broker)
