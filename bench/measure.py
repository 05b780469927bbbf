"""Measuring tools: committed progress of a consumer group, process CPU and memory, latency percentiles."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 6
ROOT = Path(__file__).resolve().parents[1]

# librdkafka names its threads rdk:main, rdk:broker<id> and rdk:bg; every other thread of a contender runs the
# application: the interpreter's loop, the compiled lane it calls, the HTTP server.
LIBRDKAFKA_THREAD_PREFIX = "rdk:"
THREAD_KINDS = ("application", "librdkafka")


def thread_kind(name: str) -> str:
    """Whose work a thread of this name does: the client library's (I/O, protocol, compression) or the
    application's."""
    return THREAD_KINDS[1] if name.startswith(LIBRDKAFKA_THREAD_PREFIX) else THREAD_KINDS[0]


def create_topics(admin: AdminClient, *names: str) -> None:
    futures = admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in names])
    for future in futures.values():
        future.result(30)


def fresh(prefix: str) -> str:
    return f"bench.{prefix}.{uuid.uuid4().hex[:6]}"


class CommittedOffsets:
    """Records of a topic a consumer group has committed, read through a consumer that never joins the group."""

    def __init__(self, config: dict[str, Any], group: str, topic: str) -> None:
        self.consumer = Consumer({**config, "group.id": group, "enable.auto.commit": False})
        self.partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]

    def total(self) -> int:
        try:
            offsets = self.consumer.committed(self.partitions, timeout=10)
        except KafkaException:
            return 0
        return sum(max(tp.offset, 0) for tp in offsets)

    def close(self) -> None:
        self.consumer.close()


@dataclass
class ProcessCost:
    """CPU seconds and peak resident memory of a live process, from /proc."""

    pid: int

    def cpu_seconds(self) -> float:
        return _cpu_seconds(Path(f"/proc/{self.pid}/stat").read_text())

    def cpu_by_thread(self) -> dict[int, tuple[str, float]]:
        """Per live thread id: its kind (`thread_kind`) and CPU seconds."""
        threads: dict[int, tuple[str, float]] = {}
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                stat = (task / "stat").read_text()
            except OSError:  # the thread ended meanwhile
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            threads[int(task.name)] = (thread_kind(name), _cpu_seconds(stat))
        return threads

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def _cpu_seconds(stat: str) -> float:
    """utime + stime of a process's or thread's /proc stat line (its name, in parentheses, may hold spaces)."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Progress:
    """Committed records over time while a contender runs (with its CPU seconds, when followed)."""

    samples: list[tuple[float, int]] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    threads: list[dict[int, tuple[str, float]]] = field(default_factory=list)  # `ProcessCost.cpu_by_thread`

    def _span(self) -> tuple[int, int] | None:
        """The samples at the first commit and at the end, when records were committed between them."""
        moving = [i for i, (_, n) in enumerate(self.samples) if n > 0]
        if len(moving) < 2 or self.samples[moving[-1]][1] == self.samples[moving[0]][1]:
            return None
        return moving[0], moving[-1]

    def cpu_per_event(self) -> float | None:
        """CPU seconds per committed record, between the first commit and the last sample (start-up excluded)."""
        span = self._span()
        if span is None or len(self.cpu) != len(self.samples):
            return None
        first, last = span
        return (self.cpu[last] - self.cpu[first]) / (self.samples[last][1] - self.samples[first][1])

    def cpu_per_event_by_thread(self) -> dict[str, float] | None:
        """`cpu_per_event` split by thread kind (`thread_kind`): what a thread spent between the two samples, or
        since it started; a thread that ended before the last sample is not counted."""
        span = self._span()
        if span is None or len(self.threads) != len(self.samples):
            return None
        first, last = span
        events = self.samples[last][1] - self.samples[first][1]
        spent: dict[str, float] = dict.fromkeys(THREAD_KINDS, 0.0)
        for tid, (kind, seconds) in self.threads[last].items():
            spent[kind] += seconds - self.threads[first].get(tid, (kind, 0.0))[1]
        return {kind: seconds / events for kind, seconds in spent.items()}

    def rate(self, total: int) -> tuple[float, int, float]:
        """(events/s between the first commit and the last sample, events counted, seconds)."""
        moving = [(t, n) for t, n in self.samples if n > 0]
        if len(moving) < 2:
            return 0.0, 0, 0.0
        (t0, n0), (t1, n1) = moving[0], moving[-1]
        return ((n1 - n0) / (t1 - t0) if t1 > t0 else 0.0), n1 - n0, t1 - t0


def follow(
    config: dict[str, Any],
    group: str,
    topic: str,
    total: int,
    cap_s: float,
    on_sample: ProcessCost | None = None,
    poll_s: float = 0.25,
) -> Progress:
    """Sample the group's committed offsets until all `total` records are committed or `cap_s` passes."""
    progress = Progress()
    offsets = CommittedOffsets(config, group, topic)
    deadline = time.monotonic() + cap_s
    while time.monotonic() < deadline:
        done = offsets.total()
        progress.samples.append((time.monotonic(), done))
        if on_sample is not None:
            try:
                progress.cpu.append(on_sample.cpu_seconds())
                progress.threads.append(on_sample.cpu_by_thread())
            except OSError:  # the process is gone
                on_sample = None
                progress.cpu.clear()
                progress.threads.clear()
        if done >= total:
            break
        time.sleep(poll_s)
    offsets.close()
    return progress


def spawn(
    module: str, args: list[str], log: Path, python: str | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:
        return subprocess.Popen(
            [python or sys.executable, "-m", module, *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def stop(process: subprocess.Popen[bytes], timeout_s: float = 20) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class LatencyReader:
    """A read_committed reader of outputs: latency = time seen here - the input record's timestamp.

    Predictions carry the input's timestamp (`event_time`). Outputs that carry nothing (the passthrough's copies
    of the input) are matched to their input by key instead: give `input_topic`, and unique keys.
    """

    def __init__(self, config: dict[str, Any], topic: str, input_topic: str | None = None) -> None:
        self.consumer = Consumer(
            {**config, "group.id": fresh("reader"), "auto.offset.reset": "earliest",
             "isolation.level": "read_committed", "enable.auto.commit": False, "fetch.wait.max.ms": 5}
        )  # fmt: skip
        self.consumer.subscribe([topic, input_topic] if input_topic else [topic])
        self._input_topic = input_topic
        self._sent_ms: dict[bytes | None, float] = {}
        self._seen_ms: dict[bytes | None, float] = {}
        self.latencies_ms: list[float] = []
        self.last_seen_s = 0.0  # monotonic time of the latest output
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self.consumer.poll(0.05)  # returns at the first record: no batching delay of its own
            if message is None or message.error() is not None:
                continue
            seen_ms = time.time() * 1000
            if message.topic() != self._input_topic:
                self.last_seen_s = time.monotonic()
            if self._input_topic is None:
                event_time = orjson.loads(message.value() or b"{}")["event_time"]
                self.latencies_ms.append(seen_ms - _epoch_ms(event_time))
                continue
            key = message.key()
            if message.topic() == self._input_topic:
                self._sent_ms[key] = message.timestamp()[1]
            else:
                self._seen_ms[key] = seen_ms
            if key in self._sent_ms and key in self._seen_ms:
                self.latencies_ms.append(self._seen_ms.pop(key) - self._sent_ms.pop(key))

    def wait_for(self, count: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while len(self.latencies_ms) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return len(self.latencies_ms) >= count

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.consumer.close()


def _epoch_ms(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    array = np.asarray(values)
    return {f"p{q}": round(float(np.percentile(array, q)), 1) for q in (50, 95, 99)}
