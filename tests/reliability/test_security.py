"""An authenticated, encrypted broker: SASL_SSL with SCRAM-SHA-512 and a CA made by the test.

Credentials reach the scorer and the producer through the environment only; wrong credentials, a missing CA
or a plaintext client are refused with a clear error and read nothing; no secret shows up in any log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from kafka_common.settings import TopicSettings
from kafka_common.topics import ensure_topics, topic_specs
from local_stack.broker import LocalKafkaBroker, SaslSslListener
from local_stack.processes import ScorerProcess
from tests.support.dataset import DATASET
from tests.support.streaming import read_outputs, scorer_env
from tests.support.tls import make_ca_and_broker_cert

pytestmark = [pytest.mark.integration, pytest.mark.security]

Config = dict[str, str]
BROKER_PASSWORD = f"broker-{uuid.uuid4().hex}"
SCORER_PASSWORD = f"scorer-{uuid.uuid4().hex}"


class SecureBroker:
    def __init__(self, broker: LocalKafkaBroker, ca: Path) -> None:
        self.broker, self.ca = broker, ca

    def env(
        self, password: str = SCORER_PASSWORD, ca: Path | None = None, protocol: str = "SASL_SSL"
    ) -> dict[str, str]:
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers, "KAFKA_SECURITY_PROTOCOL": protocol}
        if protocol == "SASL_SSL":
            env |= {
                "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                "KAFKA_SASL_USERNAME": "scorer",
                "KAFKA_SASL_PASSWORD": password,
            }
        if ca is not None:
            env["KAFKA_SSL_CA_LOCATION"] = str(ca)
        return env

    def client(
        self, password: str = SCORER_PASSWORD, ca: Path | None = None, protocol: str = "SASL_SSL"
    ) -> dict[str, str]:
        config = {"bootstrap.servers": self.broker.bootstrap_servers, "security.protocol": protocol}
        if protocol == "SASL_SSL":
            config |= {"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "scorer", "sasl.password": password}
        if ca is not None:
            config["ssl.ca.location"] = str(ca)
        return config


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    ca, keystore = make_ca_and_broker_cert(tmp_path_factory.mktemp("tls"))
    users = {"broker": BROKER_PASSWORD, "scorer": SCORER_PASSWORD}
    with LocalKafkaBroker(sasl_ssl=SaslSslListener(keystore, ca, users)) as broker:
        yield SecureBroker(broker, ca)


@pytest.fixture
def topics(secure: SecureBroker) -> TopicSettings:
    suffix = uuid.uuid4().hex[:8]
    settings = TopicSettings.unique(suffix)
    ensure_topics(AdminClient(secure.broker.client_config()), topic_specs(settings))
    return settings


def _no_secrets(*texts: str) -> None:
    for text in texts:
        assert SCORER_PASSWORD not in text
        assert BROKER_PASSWORD not in text


def test_scorer_and_producer_use_credentials_from_the_environment(
    secure: SecureBroker, topics: TopicSettings, model_dir: Path, tmp_path: Path
) -> None:
    env = {**scorer_env(topics), **secure.env(ca=secure.ca)}
    scorer = ScorerProcess(secure.broker.bootstrap_servers, model_dir, tmp_path / "scorer.log", "secure", env)
    scorer.start().wait_ready()
    try:
        replay = subprocess.run(
            [sys.executable, "-m", "producer", "replay", "--data", str(DATASET), "--limit", "500"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert replay.returncode == 0, replay.stdout + replay.stderr
        predictions, _ = read_outputs(secure.client(ca=secure.ca), topics, 500)
    finally:
        assert scorer.stop() == 0
    assert len(predictions) == 500
    _no_secrets(scorer.log_path.read_text(), replay.stdout, replay.stderr, secure.broker.log_path.read_text())


@pytest.mark.parametrize("module", ["consumer", "monitor"])
@pytest.mark.parametrize(
    ("case", "expected_in_log"),
    [("wrong password", "Authentication failed"), ("missing CA", "certificate verify failed")],
)
def test_scorer_and_monitor_refuse_bad_credentials_or_trust_at_once(
    secure: SecureBroker,
    topics: TopicSettings,
    model_dir: Path,
    tmp_path: Path,
    case: str,
    expected_in_log: str,
    module: str,
) -> None:
    """Exit 2 with one line naming the settings to check, long before the start-up timeout (60 s) runs out."""
    env = secure.env(password="not-the-password") if case == "wrong password" else secure.env()
    if case == "wrong password":
        env["KAFKA_SSL_CA_LOCATION"] = str(secure.ca)
    process = ScorerProcess(
        secure.broker.bootstrap_servers,
        model_dir,
        tmp_path / "bad.log",
        "bad",
        {**scorer_env(topics), **env, "MONITOR_STARTUP_TIMEOUT_S": "60", "SCORER_STARTUP_TIMEOUT_S": "60"},
        module=module,
    ).start()
    assert process.process is not None
    assert process.process.wait(30) == 2, process.log_tail()
    log = process.log_tail(80)
    own = [json.loads(line) for line in log.splitlines() if line.startswith("{") and '"librdkafka"' not in line]
    errors = [record["message"] for record in own if record["level"] == "ERROR"]
    assert len(errors) == 1, errors  # the service's own line; the client's report of the failure may precede it
    assert errors[0].startswith("cannot access the broker (check KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and ")
    assert expected_in_log in errors[0] and errors[0].endswith("(exit 2)")
    _no_secrets(process.log_path.read_text())
    assert "not-the-password" not in process.log_path.read_text()


@pytest.mark.parametrize("case", ["wrong password", "missing CA", "plaintext"])
def test_refused_clients_read_nothing(secure: SecureBroker, topics: TopicSettings, case: str) -> None:
    producer = Producer(secure.client(ca=secure.ca))
    for i in range(20):
        producer.produce(topics.input, key=str(i).encode(), value=b"{}")
    assert producer.flush(30) == 0
    config = {
        "wrong password": secure.client(password="not-the-password", ca=secure.ca),
        "missing CA": secure.client(),
        "plaintext": secure.client(protocol="PLAINTEXT"),
    }[case]
    errors: list[str] = []
    consumer = Consumer(
        {
            **config,
            "group.id": uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
            "error_cb": lambda error: errors.append(error.str()),
        }
    )
    consumer.subscribe([topics.input])
    received = [m for m in consumer.consume(100, timeout=6) if m.error() is None]
    consumer.close()
    assert received == []
    assert errors, "the client was refused without saying why"
    expected = {
        "wrong password": "Authentication failed",
        "missing CA": "certificate verify failed",
        "plaintext": "brokers are down",
    }[case]
    assert any(expected in error for error in errors), errors
