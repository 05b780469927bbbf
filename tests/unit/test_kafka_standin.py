"""The Kafka stand-in image's environment contract (the official apache/kafka image's): KAFKA_* variables
become server properties. The stack test proves the whole image; this table pins the mapping itself."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.docker_images import STANDINS

SCRIPT = STANDINS / "kafka" / "bin" / "kafka-env-properties.sh"


def properties(env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, check=True)
    return dict(line.split("=", 1) for line in done.stdout.splitlines())


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("KAFKA_NODE_ID", "1", "node.id"),
        ("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093", "listeners"),
        ("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@kafka:9093", "controller.quorum.voters"),
        ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1", "transaction.state.log.min.isr"),
        ("KAFKA_SOME__UNDERSCORED", "x", "some_underscored"),
        ("KAFKA_SOME___DASHED", "y", "some-dashed"),
        ("KAFKA_LOG_DIRS", "/data", "log.dirs"),
    ],
)
def test_a_kafka_variable_becomes_its_property(variable: str, value: str, key: str) -> None:
    got = properties({variable: value})
    assert got[key] == value
    assert got["log.dirs"] == (value if key == "log.dirs" else "/var/lib/kafka/data")


def test_jvm_variables_and_others_are_not_properties() -> None:
    got = properties({"KAFKA_NODE_ID": "1", "KAFKA_HEAP_OPTS": "-Xmx1g", "KAFKA_OPTS": "-Dx=y", "PATH": "/usr/bin"})
    assert got == {"node.id": "1", "log.dirs": "/var/lib/kafka/data"}


def test_no_settings_start_a_single_node_broker_and_controller() -> None:
    got = properties({"PATH": "/usr/bin:/bin"})
    assert got["process.roles"] == "broker,controller"
    assert got["advertised.listeners"] == "PLAINTEXT://localhost:9092"
    assert got["log.dirs"] == "/var/lib/kafka/data"
