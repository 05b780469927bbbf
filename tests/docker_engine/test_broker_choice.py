"""On a real engine the test session's broker is testcontainers' only when the engine can run its images; an
engine without them (a machine without a registry) gives the local JVM broker, not a session of errors."""

from __future__ import annotations

import docker
import pytest
from testcontainers.core.config import testcontainers_config

from local_stack.provider import KAFKA_IMAGE, engine_runs_testcontainers_kafka, kafka_broker
from stream_runtime.settings import KafkaSettings

pytestmark = pytest.mark.docker


def _held(image: str) -> bool:
    client = docker.from_env(timeout=10)
    try:
        client.images.get(image)
        return True
    except docker.errors.ImageNotFound:
        return False
    finally:
        client.close()


def test_the_broker_comes_from_the_engine_only_when_it_can_run_testcontainers_images() -> None:
    usable = engine_runs_testcontainers_kafka()
    images = [KAFKA_IMAGE, *([] if testcontainers_config.ryuk_disabled else [testcontainers_config.ryuk_image])]
    assert usable == all(_held(image) for image in images), "usable exactly when the images are there (held or pulled)"
    with kafka_broker(KafkaSettings(bootstrap_servers="")) as endpoint:
        assert endpoint.kind == ("testcontainers" if usable else "local-jvm"), endpoint
        assert endpoint.bootstrap_servers
