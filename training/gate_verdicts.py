"""What the monitor's gate says of each champion/challenger lineup: the newest comparison it published, read
from the model-metrics topic for `training models`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from confluent_kafka import Message
from pydantic import ValidationError

from schemas.monitoring import MODEL_METRICS_RECORD, ModelComparisonReport
from stream_runtime.topic_reader import read_topic

Lineup = tuple[str, str]  # champion version, challenger version


def newest_comparisons(messages: Iterable[Message]) -> dict[Lineup, ModelComparisonReport]:
    """Per lineup, the comparison reported last (the newest `reported_at`); other records are skipped."""
    newest: dict[Lineup, ModelComparisonReport] = {}
    for message in messages:
        try:
            record = MODEL_METRICS_RECORD.validate_json(message.value() or b"")
        except ValidationError:
            continue  # not the monitor's: nothing the gate said
        if isinstance(record, ModelComparisonReport):
            key = (record.champion_version, record.challenger_version)
            if key not in newest or record.reported_at >= newest[key].reported_at:
                newest[key] = record
    return newest


def read_comparisons(config: dict[str, Any], topic: str, timeout_s: float) -> dict[Lineup, ModelComparisonReport]:
    """The newest comparison of each lineup now on `topic` (none when the topic does not exist yet)."""
    return newest_comparisons(read_topic(config, topic, timeout_s) or [])
