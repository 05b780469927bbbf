"""Contender `passthrough`: the scorer's clients and committers, with no validation or scoring.

Each batch's input bytes are produced unchanged to the output topic and committed by the scorer's own
committer (`consumer.committers`): in one transaction with the offsets (exactly-once), or flushed and then
committed (at-least-once). The practical limit of the client here.
"""

from __future__ import annotations

from confluent_kafka import Consumer

from bench.child import arguments, base_config, stop_flag
from consumer.clients import consumer_config, producer_config
from consumer.committers import CommitEvents, make_committer, rewind
from consumer.records import first_offsets, next_offsets
from consumer.settings import ProcessingGuarantee, ScorerSettings
from kafka_common.settings import TopicSettings


def main() -> None:
    args = arguments(__doc__ or "")
    guarantee = ProcessingGuarantee.EXACTLY_ONCE if args.mode == "eos" else ProcessingGuarantee.AT_LEAST_ONCE
    settings = ScorerSettings(
        group_id=args.group, processing_guarantee=guarantee, batch_size=args.batch_size, instance_id="passthrough"
    )
    base = base_config(args.bootstrap)
    consumer = Consumer(consumer_config(base, settings))
    stop = stop_flag()
    committer = make_committer(
        settings.exactly_once,
        consumer,
        producer_config(base, settings, TopicSettings()),
        settings.transaction_timeout_ms / 1000,
        stop,
        CommitEvents(),
    )
    committer.start()
    consumer.subscribe([args.input])
    wait_s = settings.batch_max_wait_ms / 1000
    while not stop.is_set():
        messages = [m for m in consumer.consume(settings.batch_size, timeout=wait_s) if m.error() is None]
        if not messages:
            continue
        offsets = next_offsets(messages)
        if not committer.commit({args.output: [(m.key(), m.value()) for m in messages]}, offsets):
            rewind(consumer, first_offsets(messages))
    consumer.close()
    committer.close()


if __name__ == "__main__":
    main()
