"""Contender `passthrough`: the stream runtime with a processor that validates and scores nothing.

Each batch's input bytes are produced unchanged to the output topic and committed by the runtime the scorer runs
on (`stream_runtime`): in one transaction with the offsets (exactly-once), or flushed and then committed
(at-least-once). The practical limit of the client here, with the same loop, clients and commits as the scorer.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from datetime import datetime

from confluent_kafka import Message
from prometheus_client import CollectorRegistry

from bench.child import arguments, base_config
from consumer.settings import ProcessingGuarantee, ScorerSettings
from stream_runtime.processor import Batch, Processor
from stream_runtime.records import next_offsets
from stream_runtime.runtime import ServiceSpec, StreamRuntime


class Passthrough(Processor[None]):
    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, records: Sequence[Message], now: datetime, due: bool) -> Batch[None]:
        return Batch({self.output: [(m.key(), m.value()) for m in records]}, next_offsets(records), None)

    def committed(self, batch: Batch[None]) -> None:
        pass


def main() -> None:
    args = arguments(__doc__ or "")
    guarantee = ProcessingGuarantee.EXACTLY_ONCE if args.mode == "eos" else ProcessingGuarantee.AT_LEAST_ONCE
    settings = ScorerSettings(
        group_id=args.group,
        processing_guarantee=guarantee,
        batch_size=args.batch_size,
        instance_id="passthrough",
        http_port=0,
    )
    spec = ServiceSpec(name="passthrough", inputs=[args.input], metric_prefix="passthrough", port_variable="--")
    runtime = StreamRuntime(Passthrough(args.output), spec, settings, base_config(args.bootstrap), CollectorRegistry())
    for signum in (signal.SIGTERM, signal.SIGINT):  # finish the batch in flight, as the scorer does
        signal.signal(signum, lambda *_: runtime.request_stop())
    raise SystemExit(runtime.run())


if __name__ == "__main__":
    main()
