"""Contender `naive`: what typical solutions of this challenge do, one event at a time.

Per event: parse, build a one-row pandas DataFrame, call the pipeline's `predict_proba`, produce, and commit
that one message (exactly-once: one transaction per message).
"""

from __future__ import annotations

from pathlib import Path

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from bench.child import arguments, base_config, stop_flag
from schemas import FlightEvent
from training.artifact import load_artifact
from training.features import records_to_frame


def main() -> None:
    args = arguments(__doc__ or "")
    model = load_artifact(Path(args.models))
    base = base_config(args.bootstrap)
    consumer = Consumer(
        {**base, "group.id": args.group, "enable.auto.commit": False, "auto.offset.reset": "earliest",
         "isolation.level": "read_committed"}
    )  # fmt: skip
    producer_settings = {**base, "enable.idempotence": True, "acks": "all"}
    if args.mode == "eos":
        producer_settings["transactional.id"] = f"naive-{args.group}"
    producer = Producer(producer_settings)
    if args.mode == "eos":
        producer.init_transactions(30)
    stop = stop_flag()
    consumer.subscribe([args.input])
    while not stop.is_set():
        message = consumer.poll(0.1)
        if message is None or message.error() is not None:
            continue
        event = FlightEvent.model_validate(orjson.loads(message.value() or b"{}"))
        frame = records_to_frame([event.model_record()])
        probability = float(model.pipeline.predict_proba(frame)[0, 1])
        value = orjson.dumps({"flight_id": event.resolved_id(), "delay_probability": probability,
                              "delayed": probability >= model.threshold, "model_version": model.version})  # fmt: skip
        offset = TopicPartition(message.topic() or args.input, message.partition() or 0, (message.offset() or 0) + 1)
        if args.mode == "eos":
            producer.begin_transaction()
            producer.produce(args.output, key=message.key(), value=value)
            producer.send_offsets_to_transaction([offset], consumer.consumer_group_metadata(), 30)
            producer.commit_transaction(30)
        else:
            producer.produce(args.output, key=message.key(), value=value)
            producer.poll(0)
            consumer.commit(offsets=[offset], asynchronous=False)
    producer.flush(30)
    consumer.close()


if __name__ == "__main__":
    main()
