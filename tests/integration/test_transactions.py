"""Transactions work on the test broker: a read_committed reader sees the committed one only."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer

from tests.support.kafka import MakeTopic

pytestmark = pytest.mark.integration


def _read_all(bootstrap: str, topic: str, isolation: str, expected: int) -> list[bytes]:
    """Read `expected` records, then keep listening briefly to catch any that should not be there."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"tx-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": isolation,
        }
    )
    consumer.subscribe([topic])
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + 30
        while len(values) < expected and time.monotonic() < deadline:
            values += [m.value() or b"" for m in consumer.consume(100, timeout=1) if m.error() is None]
        values += [m.value() or b"" for m in consumer.consume(100, timeout=2) if m.error() is None]
    finally:
        consumer.close()
    return values


def test_read_committed_sees_only_the_committed_transaction(bootstrap: str, make_topic: MakeTopic) -> None:
    topic = make_topic("tx", partitions=3)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"tx-test-{uuid.uuid4().hex}"})
    producer.init_transactions(30)

    producer.begin_transaction()
    for i in range(50):
        producer.produce(topic, key=str(i).encode(), value=b"committed-%d" % i)
    producer.commit_transaction(30)

    producer.begin_transaction()
    for i in range(50):
        producer.produce(topic, key=str(i).encode(), value=b"aborted-%d" % i)
    producer.flush(30)  # the aborted records really reach the log
    producer.abort_transaction(30)

    committed_view = _read_all(bootstrap, topic, "read_committed", 50)
    assert sorted(committed_view) == sorted(b"committed-%d" % i for i in range(50))

    uncommitted_view = _read_all(bootstrap, topic, "read_uncommitted", 100)
    aborted = sum(v.startswith(b"aborted-") for v in uncommitted_view)
    assert aborted == 50, "the aborted records never reached the log"
