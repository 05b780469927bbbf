"""Proof the broker is real: keyed order and no loss over 10,000 messages on 6 partitions."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict

import pytest
from confluent_kafka import Consumer, Producer

from tests.support.kafka import MakeTopic

pytestmark = pytest.mark.integration

MESSAGES = 10_000
KEYS = 250


def test_keyed_messages_come_back_in_order_and_complete(bootstrap: str, make_topic: MakeTopic) -> None:
    topic = make_topic("roundtrip", partitions=6)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    failures: list[str] = []
    for seq in range(MESSAGES):
        key = f"flight-{seq % KEYS}"
        value = json.dumps({"key": key, "seq": seq}).encode()
        producer.produce(
            topic,
            key=key.encode(),
            value=value,
            on_delivery=lambda err, _msg: failures.append(str(err)) if err else None,
        )
        producer.poll(0)
    assert producer.flush(30) == 0
    assert failures == []

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"roundtrip-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    seen: dict[str, list[int]] = defaultdict(list)
    partitions_of_key: dict[str, set[int]] = defaultdict(set)
    received = 0
    try:
        while received < MESSAGES:
            batch = consumer.consume(num_messages=1000, timeout=10)
            assert batch, f"stalled after {received} of {MESSAGES} messages"
            for message in batch:
                assert message.error() is None, message.error()
                body = json.loads(message.value() or b"")
                assert (message.key() or b"").decode() == body["key"]
                seen[body["key"]].append(body["seq"])
                partitions_of_key[body["key"]].add(message.partition() or 0)
                received += 1
    finally:
        consumer.close()

    assert received == MESSAGES
    assert sorted(s for seqs in seen.values() for s in seqs) == list(range(MESSAGES)), "loss or duplicates"
    for key, seqs in seen.items():
        assert seqs == sorted(seqs), f"{key} out of order"
        assert len(partitions_of_key[key]) == 1, f"{key} spread over partitions"
    used = set().union(*partitions_of_key.values())
    assert used == set(range(6)), f"keys only reached partitions {sorted(used)}"
