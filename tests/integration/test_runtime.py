"""The stream runtime on the real broker, with a processor of the test's own: work that is due runs on time while
input never pauses, and every input record is committed exactly once with its output."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import pytest
from confluent_kafka import Message, Producer
from prometheus_client import CollectorRegistry

from stream_runtime.processor import Batch, Processor
from stream_runtime.records import next_offsets
from stream_runtime.runtime import ServiceSpec, StreamRuntime
from stream_runtime.settings import StreamSettings
from tests.support.kafka import MakeTopic
from tests.support.streaming import read_keys

pytestmark = pytest.mark.integration

DUE_EVERY_S = 0.5
SEND_FOR_S = 6.0


class Ticking(Processor[bool]):
    """Copies each record to `output`; every DUE_EVERY_S, a due batch also writes a tick (whatever the input)."""

    def __init__(self, output: str, ticks: str) -> None:
        self.output, self.ticks = output, ticks
        self.last_tick = time.monotonic()
        self.due_batches: list[int] = []  # records in each committed batch that carried a tick

    def due(self) -> bool:
        return time.monotonic() - self.last_tick > DUE_EVERY_S

    def process(self, records: Sequence[Message], now: datetime, due: bool) -> Batch[bool]:
        tick = due  # the runtime's word: this processor never looks at the clock itself here
        outputs = {self.output: [(m.key(), m.value()) for m in records]}
        outputs[self.ticks] = [(b"tick", now.isoformat().encode())] if tick else []
        return Batch(outputs, next_offsets(records), tick)

    def committed(self, batch: Batch[bool]) -> None:
        if batch.context:
            self.last_tick = time.monotonic()
            self.due_batches.append(sum(len(pairs) for topic, pairs in batch.outputs.items() if topic == self.output))


def test_due_work_runs_on_time_while_input_never_pauses(bootstrap: str, make_topic: MakeTopic) -> None:
    source, output, ticks = make_topic("rt-in", 3), make_topic("rt-out", 3), make_topic("rt-ticks", 1)
    processor = Ticking(output, ticks)
    settings = StreamSettings(group_id=f"rt-{source}", http_port=0, batch_size=100, batch_max_wait_ms=50)
    spec = ServiceSpec(name="ticking", inputs=[source], metric_prefix="ticking", port_variable="--")
    runtime = StreamRuntime(processor, spec, settings, {"bootstrap.servers": bootstrap}, CollectorRegistry())
    loop = threading.Thread(target=runtime.run)
    loop.start()
    sent: list[bytes] = []
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1})
    try:
        deadline = time.monotonic() + 60
        while runtime.committed_records == 0:  # until the group has formed and the first records came through
            key = f"w{len(sent)}".encode()
            producer.produce(source, key, key=key)
            sent.append(key)
            producer.flush(1)
            time.sleep(0.2)
            assert time.monotonic() < deadline, "the runtime never committed a record"
        stop_sending = time.monotonic() + SEND_FOR_S
        ticks_before = len(processor.due_batches)
        n = 0
        while time.monotonic() < stop_sending:  # about 1,000 records a second: every read finds some
            key = f"k{n}".encode()
            producer.produce(source, key, key=key)
            sent.append(key)
            n += 1
            if n % 20 == 0:
                producer.poll(0)
                time.sleep(0.02)
        producer.flush(10)
        during = processor.due_batches[ticks_before:]
    finally:
        runtime.request_stop()
        loop.join(30)
    assert not loop.is_alive()
    assert len(during) >= SEND_FOR_S / DUE_EVERY_S / 2, f"due work waited for the input to pause: {during}"
    assert sum(1 for records in during if records > 0) >= len(during) - 1, "the due work rode along with input"
    assert Counter(read_keys(bootstrap, output, len(sent))) == Counter(sent), "every record copied exactly once"
