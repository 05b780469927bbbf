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
from tests.support.polling import wait_until
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
        wait_until(  # the last records sent: read before the stop
            "every record sent committed",
            lambda: runtime.committed_records >= len(sent),
            30,
            every_s=0.1,
            seen=lambda: f"{runtime.committed_records} of {len(sent)} records committed",
        )
    finally:
        runtime.request_stop()
        loop.join(30)
    assert not loop.is_alive()
    assert len(during) >= SEND_FOR_S / DUE_EVERY_S / 2, f"due work waited for the input to pause: {during}"
    assert sum(1 for records in during if records > 0) >= len(during) - 1, "the due work rode along with input"
    assert Counter(read_keys(bootstrap, output, len(sent))) == Counter(sent), "every record copied exactly once"


class Slow(Processor[None]):
    """Copies each record to `output`; while `slow` is set, each batch takes a second (a service slower than its
    input). Remembers the last offset it was handed of each topic."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.slow = threading.Event()
        self.last_read: dict[str, int] = {}

    def process(self, records: Sequence[Message], now: datetime, due: bool) -> Batch[None]:
        if self.slow.is_set():
            time.sleep(1.0)
        for record in records:
            self.last_read[record.topic() or ""] = record.offset() or 0
        return Batch({self.output: [(m.key(), m.value()) for m in records]}, next_offsets(records), None)

    def committed(self, batch: Batch[None]) -> None:
        pass


def test_a_service_slower_than_its_input_says_how_long_records_wait_per_topic(
    bootstrap: str, make_topic: MakeTopic
) -> None:
    """Two inputs, each with a partition 0: one written faster than the service reads, one quiet and caught up.
    The busy one's wait is compared with the true age of its oldest record not yet read (the moment the test
    wrote it), the quiet one stays at 0, and both return to 0 once the service keeps up."""
    busy, quiet, output = make_topic("lag-busy", 1), make_topic("lag-quiet", 1), make_topic("lag-out", 1)
    processor = Slow(output)
    settings = StreamSettings(group_id=f"lag-{busy}", http_port=0, batch_size=20, batch_max_wait_ms=50)
    spec = ServiceSpec(name="slow", inputs=[busy, quiet], metric_prefix="slow", port_variable="--")
    runtime = StreamRuntime(processor, spec, settings, {"bootstrap.servers": bootstrap}, CollectorRegistry())

    def gauge(name: str, topic: str) -> float | None:
        return runtime.registry.get_sample_value(f"slow_{name}", {"topic": topic, "partition": "0"})

    loop = threading.Thread(target=runtime.run)
    loop.start()
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1})
    written: list[float] = []  # the moment each record of `busy` was handed to the producer, by offset

    def write_busy() -> None:
        producer.produce(busy, b"b", key=f"b{len(written)}".encode())
        written.append(time.time())
        producer.poll(0)

    try:
        for n in range(5):
            producer.produce(quiet, b"q", key=f"q{n}".encode())
        write_busy()
        producer.flush(10)
        wait_until(
            "the runtime reading both inputs",
            lambda: processor.last_read.get(quiet) == 4 and processor.last_read.get(busy) == 0,
            60,
            every_s=0.1,
        )
        processor.slow.set()  # from here 20 records a second are read, 50 written
        until = time.monotonic() + 12
        while time.monotonic() < until:
            write_busy()
            time.sleep(0.02)
        producer.flush(10)
        waited = gauge("consumer_lag_seconds", busy)
        oldest_unread = processor.last_read[busy] + 1
        true_age = time.time() - written[oldest_unread]
        records_behind = gauge("consumer_lag", busy)
        quiet_lag = (gauge("consumer_lag", quiet), gauge("consumer_lag_seconds", quiet))
        processor.slow.clear()
        wait_until(
            "the wait back to 0 once the service keeps up",
            lambda: gauge("consumer_lag_seconds", busy) == 0 and gauge("consumer_lag", busy) == 0,
            30,
            every_s=0.2,
        )
    finally:
        runtime.request_stop()
        loop.join(30)
    assert not loop.is_alive()
    assert true_age > 5, f"the test never fell behind: the oldest record not read had waited {true_age:.1f} s"
    # A lower bound: the statistics come every 2 s, and the record read since was written at most ~1 s later.
    assert waited is not None and true_age - 4.5 <= waited <= true_age + 1.0, (waited, true_age)
    assert records_behind is not None and records_behind > 100
    assert quiet_lag == (0.0, 0.0), "the quiet input is caught up whatever the busy one's lag"
    print(f"busy: waited at least {waited:.1f} s ({records_behind:.0f} records), true age {true_age:.1f} s")
    assert Counter(read_keys(bootstrap, output, len(written) + 5)) == Counter(
        [f"b{n}".encode() for n in range(len(written))] + [f"q{n}".encode() for n in range(5)]
    ), "every record copied exactly once"
