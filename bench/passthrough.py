"""Contender `passthrough`: the scorer's clients and commit protocol, with no validation or scoring.

Each batch's input bytes are produced unchanged to the output topic, inside one transaction with the
offsets (exactly-once) or flushed and then committed (at-least-once): the practical limit of the client here.
"""

from __future__ import annotations

from confluent_kafka import Consumer, Producer

from bench.child import arguments, base_config, stop_flag
from consumer.app import next_offsets
from consumer.clients import consumer_config, producer_config
from consumer.settings import ScorerSettings
from kafka_common.settings import TopicSettings


def main() -> None:
    args = arguments(__doc__ or "")
    guarantee = "exactly_once" if args.mode == "eos" else "at_least_once"
    settings = ScorerSettings(
        group_id=args.group, processing_guarantee=guarantee, batch_size=args.batch_size, instance_id="passthrough"
    )
    base = base_config(args.bootstrap)
    consumer = Consumer(consumer_config(base, settings))
    producer = Producer(producer_config(base, settings, TopicSettings()))
    stop = stop_flag()
    if args.mode == "eos":
        producer.init_transactions(30)
    consumer.subscribe([args.input])
    wait_s = settings.batch_max_wait_ms / 1000
    while not stop.is_set():
        messages = [m for m in consumer.consume(settings.batch_size, timeout=wait_s) if m.error() is None]
        if not messages:
            continue
        offsets = next_offsets(messages)
        if args.mode == "eos":
            producer.begin_transaction()
        for message in messages:
            while True:
                try:
                    producer.produce(args.output, key=message.key(), value=message.value())
                    break
                except BufferError:
                    producer.poll(0.05)
        if args.mode == "eos":
            producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 30)
            producer.commit_transaction(30)
        else:
            producer.flush(30)
            consumer.commit(offsets=offsets, asynchronous=False)
    consumer.close()


if __name__ == "__main__":
    main()
