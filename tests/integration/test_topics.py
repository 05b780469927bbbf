"""Topics as code against the real broker: create, re-run idempotently, report drift."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from kafka_common.settings import TopicSettings
from kafka_common.topics import ensure_topics, topic_specs, wait_for_topics

pytestmark = pytest.mark.integration


def _settings(**overrides: object) -> TopicSettings:
    return TopicSettings.unique(uuid.uuid4().hex[:8]).model_copy(update=overrides)


def test_creates_then_is_idempotent_then_reports_drift(admin: AdminClient) -> None:
    settings = _settings()
    first = ensure_topics(admin, topic_specs(settings))
    assert [s.state for s in first] == ["created"] * 9

    metadata = wait_for_topics(admin, settings.names())
    streams = [
        settings.input,
        settings.predictions,
        settings.dead_letter,
        settings.shadow_predictions,
        settings.outcomes,
    ]
    assert all(len(metadata[name].partitions) == 6 for name in streams)
    for compacted in (settings.model_control, settings.model_fleet):
        assert len(metadata[compacted].partitions) == 1, "one order for every role; one status per instance"
        [config] = admin.describe_configs([ConfigResource(ResourceType.TOPIC, compacted)]).values()
        assert config.result()["cleanup.policy"].value == "compact"

    second = ensure_topics(admin, topic_specs(settings))
    assert [(s.state, s.differences) for s in second] == [("unchanged", [])] * 9

    drifted = settings.model_copy(update={"partitions": 3, "retention_ms": 1000})
    third = ensure_topics(admin, topic_specs(drifted))
    assert [s.state for s in third] == ["differs"] * 7 + ["unchanged"] * 2
    assert "partitions: has 6, configured 3" in third[0].differences
    assert any(d.startswith("retention.ms: has 604800000, configured 1000") for d in third[0].differences)
    metadata = admin.list_topics(timeout=10).topics
    assert len(metadata[settings.input].partitions) == 6, "ensure_topics must never alter an existing topic"

    for future in admin.delete_topics(settings.names()).values():
        future.result()


def test_topics_command_prints_its_table_to_stdout(bootstrap: str, admin: AdminClient) -> None:
    from typer.testing import CliRunner

    from kafka_common.cli import app

    settings = _settings()
    env = settings.environment()
    result = CliRunner().invoke(app, ["topics", "--bootstrap", bootstrap], env=env)
    assert result.exit_code == 0, result.output
    assert settings.input in result.stdout and "created" in result.stdout, "the table goes to stdout, for pipes"
    assert not result.stderr
    for future in admin.delete_topics(settings.names()).values():
        future.result()
