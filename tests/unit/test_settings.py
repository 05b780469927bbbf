"""Settings come from the environment and turn into librdkafka configuration without leaking secrets."""

from __future__ import annotations

import pytest

from kafka_common.settings import TopicSettings
from kafka_common.topics import topic_specs
from stream_runtime.settings import KafkaSettings


def test_defaults_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "b1:9096,b2:9096")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "scorer")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    settings = KafkaSettings()
    config = settings.client_config()
    assert config["bootstrap.servers"] == "b1:9096,b2:9096"
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.password"] == "s3cret"
    assert "s3cret" not in repr(settings)


def test_missing_bootstrap_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    with pytest.raises(ValueError, match="KAFKA_BOOTSTRAP_SERVERS"):
        KafkaSettings().client_config()


def test_invalid_protocol_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "PLAIN_TEXT")
    with pytest.raises(ValueError, match="security_protocol"):
        KafkaSettings()


def test_topic_specs_follow_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPIC_PARTITIONS", "12")
    specs = topic_specs(TopicSettings())
    assert [s.name for s in specs] == [
        "flights.scheduled",
        "flights.delay-predictions",
        "flights.dead-letter",
        "flights.delay-predictions.shadow",
        "flights.departures",
        "flights.prediction-outcomes",
        "flights.model-metrics",
        "flights.model-control",
        "flights.model-fleet",
    ]
    assert {s.partitions for s in specs[:-2]} == {12}
    assert specs[2].config["retention.ms"] == str(30 * 24 * 3600 * 1000)
    for compacted in specs[-2:]:  # one order, every role (every instance) kept
        assert (compacted.partitions, compacted.config) == (1, {"cleanup.policy": "compact"}), compacted.name


def test_cluster_ids_never_look_like_options() -> None:
    """About 1 in 64 random ids starts with '-', which the storage tool parsed as a flag (seen in CI)."""
    from local_stack.broker import new_cluster_id

    ids = [new_cluster_id() for _ in range(2000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_msk_iam_token_callback_signs_locally(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Fake AWS credentials, no network: the callback returns a signed token and a future expiry."""
    import base64
    import time
    from urllib.parse import parse_qs, urlparse

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE1234")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-never-sent")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "b-1.msk.example:9098")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "OAUTHBEARER")
    monkeypatch.setenv("KAFKA_AWS_REGION", "us-east-1")
    caplog.set_level("DEBUG")
    config = KafkaSettings().client_config()
    token, expiry = config["oauth_cb"](None)
    url = urlparse(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    query = parse_qs(url.query)
    assert url.netloc == "kafka.us-east-1.amazonaws.com"
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert query["X-Amz-Credential"][0].startswith("AKIAFAKEFAKEFAKE1234/")
    assert "fake-secret-never-sent" not in token
    assert token not in caplog.text
    assert "fake-secret-never-sent" not in caplog.text
    assert time.time() < expiry < time.time() + 3600


def test_oauthbearer_without_region_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "OAUTHBEARER")
    monkeypatch.delenv("KAFKA_AWS_REGION", raising=False)
    with pytest.raises(ValueError, match="KAFKA_AWS_REGION"):
        KafkaSettings().client_config("b:9098")


def test_readme_configuration_table_lists_every_setting() -> None:
    """One table documents every variable the settings read, and nothing that no setting reads."""
    import re

    from tests.support.shipping import ROOT, environment_variables

    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`((?:KAFKA|TOPIC|SCORER|MONITOR)_[A-Z0-9_]+|MODEL_URI)`", table))
    assert documented == environment_variables()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SCORER_BATCH_SIZE", "abc", "SCORER_BATCH_SIZE='abc': Input should be a valid integer"),
        ("SCORER_BATCH_SIZE", "0", "SCORER_BATCH_SIZE='0': Input should be greater than or equal to 1"),
        ("SCORER_PROCESSING_GUARANTEE", "twice", "SCORER_PROCESSING_GUARANTEE='twice'"),
    ],
)
def test_a_bad_setting_names_its_environment_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    from consumer.settings import ScorerSettings
    from stream_runtime.settings import SettingsError, read_settings

    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        read_settings(ScorerSettings)
    assert expected in str(caught.value)
    assert "batch_size" not in str(caught.value)


@pytest.mark.parametrize("value", ["0", "abc"])
def test_topics_command_refuses_a_bad_partition_count_in_one_line(value: str) -> None:
    from typer.testing import CliRunner

    from kafka_common.cli import app

    result = CliRunner().invoke(app, ["topics", "--bootstrap", "127.0.0.1:1"], env={"TOPIC_PARTITIONS": value})
    assert result.exit_code == 2
    assert f"TOPIC_PARTITIONS='{value}'" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
