"""The producer's batch room: a batch's predictions fit one partition's `batch.size`, so librdkafka does not wake
its broker thread once per output (see `stream_runtime.clients`)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from consumer.scoring import BatchScorer
from consumer.settings import ScorerSettings
from consumer.transform import BatchTransform, OutputKind
from kafka_common.settings import TopicSettings
from stream_runtime.clients import OUTPUT_BYTES_PER_EVENT, producer_config
from stream_runtime.records import PlainRecord
from tests.support.records import VALID_EVENT
from training.lookup import ServingModel


def test_a_long_prediction_fits_the_room_judged_for_it(serving_model: ServingModel) -> None:
    """The longest id the contract allows and the shipped number of contributions: still within the estimate."""
    top = ScorerSettings.model_fields["top_contributions"].default
    transform = BatchTransform(
        BatchScorer(serving_model, top=top), group_id="g", max_payload_bytes=65536, dead_letter_max_value_bytes=65536
    )
    event = {**VALID_EVENT, "flight_id": "F" * 120, "destination": "ZZZZ"}  # unseen: the flags are written too
    record = PlainRecord(orjson.dumps(event), b"k")
    [(_, value)] = transform([record], datetime(2026, 11, 28, tzinfo=UTC)).outputs[OutputKind.PREDICTION]
    assert len(value) <= OUTPUT_BYTES_PER_EVENT, len(value)


@pytest.mark.parametrize("batch_size", [1, 500, 2_000, 4_000, 100_000])
def test_a_batch_of_outputs_fits_one_partition_batch(batch_size: int) -> None:
    settings = ScorerSettings(group_id="g", batch_size=batch_size, instance_id="i")
    topics = TopicSettings()
    config = producer_config({"bootstrap.servers": "localhost:9092"}, settings, topics.dead_letter_max_message_bytes)
    assert config["batch.size"] <= config["message.max.bytes"]
    assert config["batch.size"] >= min(batch_size * OUTPUT_BYTES_PER_EVENT, config["message.max.bytes"])
    assert config["batch.size"] >= 1_000_000  # never below librdkafka's default
