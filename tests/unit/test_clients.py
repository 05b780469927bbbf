"""The services' client settings: a batch's predictions fit one partition's `batch.size`, so librdkafka does not
wake its broker thread once per output (see `stream_runtime.clients`); clients facing an absent broker do not
storm it."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import orjson
import pytest
from confluent_kafka import Consumer

from consumer.scoring import BatchScorer
from consumer.settings import ScorerSettings
from consumer.transform import BatchTransform, OutputKind
from kafka_common.settings import TopicSettings
from local_stack.broker import free_port
from stream_runtime.clients import OUTPUT_BYTES_PER_EVENT, consumer_config, producer_config
from stream_runtime.records import PlainRecord
from stream_runtime.settings import KafkaSettings
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


class _Attempts(logging.Handler):
    """Counts the connection attempts librdkafka's `broker` debug context reports."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += "Connecting to " in record.getMessage()


def test_a_consumer_facing_an_absent_broker_tries_a_few_times_a_second() -> None:
    """While nothing answers, librdkafka connects "any broker" for its coordinator and metadata queries every half
    `reconnect.backoff.ms`, past each broker's exponential backoff: at its default 100 ms a consumer tries about 19
    times a second (so a scorer's clients about 64), each with a new thread once it re-bootstraps."""
    attempts = _Attempts()
    logger = logging.getLogger("test_clients.librdkafka")
    logger.addHandler(attempts)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    settings = ScorerSettings(group_id="absent", instance_id="i")
    base = KafkaSettings().client_config(f"127.0.0.1:{free_port()}")  # nothing listens there
    consumer = Consumer({**consumer_config(base, settings), "debug": "broker", "logger": logger})
    try:
        consumer.subscribe(["flights.scheduled"])
        started = time.monotonic()
        while time.monotonic() - started < 4:
            consumer.poll(0.2)
        elapsed = time.monotonic() - started
    finally:
        consumer.close()
    assert 1 <= attempts.count <= 6 * elapsed, f"{attempts.count} connection attempts in {elapsed:.1f} s"
