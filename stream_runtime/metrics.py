"""The runtime's own Prometheus metrics, in the service's registry under the service's prefix: commits aborted,
producers replaced, calls retried, rebalances, lag per input partition (records and seconds), readiness and
abandoned calls."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge

from stream_runtime.bounded_call import still_blocked
from stream_runtime.lag import EndHistory, partition_reading

# An input partition, as the metrics label it: several inputs may each have a partition 0.
Partition = tuple[str, int]


class RuntimeMetrics:
    def __init__(self, registry: CollectorRegistry, prefix: str, ready: Callable[[], bool]) -> None:
        self.registry = r = registry
        self.aborted = Counter(f"{prefix}_transactions_aborted", "Batches not committed and re-read", registry=r)
        self.producer_restarts = Counter(
            f"{prefix}_producer_restarts",
            "Producers replaced after a fatal error or a timed-out offsets call",
            registry=r,
        )
        self.retries = Counter(
            f"{prefix}_kafka_call_retries",
            "Kafka calls repeated because they timed out (the broker was away), by call",
            ["call"],
            registry=r,
        )
        self.rebalances = Counter(f"{prefix}_rebalances", "Partition assignments and revocations", ["kind"], registry=r)
        self.lag = Gauge(
            f"{prefix}_consumer_lag",
            "Records behind the end of each input partition",
            ["topic", "partition"],
            registry=r,
        )
        self.lag_seconds = Gauge(
            f"{prefix}_consumer_lag_seconds",
            "How long the oldest record not yet read of each input partition has waited, at least (0: none waits)",
            ["topic", "partition"],
            registry=r,
        )
        self.ready = Gauge(f"{prefix}_ready", "1 while /readyz answers 200", registry=r)
        self.ready.set_function(lambda: float(ready()))
        self.blocked_calls = Gauge(
            f"{prefix}_abandoned_calls_blocked",
            "Kafka calls abandoned past their deadline whose threads are still blocked (bounded: the process exits "
            "at 3)",
            registry=r,
        )
        self.blocked_calls.set_function(lambda: float(still_blocked()))
        self._start_offsets: dict[Partition, int] = {}
        self._ends: dict[Partition, EndHistory] = {}  # one per partition assigned: only those are reported

    def partitions_assigned(self, partitions: Iterable[Partition], committed: dict[Partition, int]) -> None:
        """Newly assigned partitions, and the group's committed offsets of those that have one: where the lag
        counts from until a record is consumed (with exactly-once, offsets are committed through the producer and
        the consumer never learns them)."""
        self._ends.update((partition, EndHistory()) for partition in partitions)
        self._start_offsets.update(committed)

    def partitions_revoked(self, partitions: Iterable[Partition]) -> None:
        """Another instance now reports these partitions' lag."""
        for topic, partition in partitions:
            self._start_offsets.pop((topic, partition), None)
            self._ends.pop((topic, partition), None)
            for gauge in (self.lag, self.lag_seconds):
                with contextlib.suppress(KeyError):
                    gauge.remove(topic, str(partition))

    def update_from_statistics(self, stats_json: str, now_s: float | None = None) -> bool:
        """Take the lag of the partitions assigned from librdkafka statistics (a report written before a revocation
        may be read after it); return whether any broker is up."""
        stats = orjson.loads(stats_json)
        now_s = time.monotonic() if now_s is None else now_s
        for name, topic in stats.get("topics", {}).items():
            for number, info in topic.get("partitions", {}).items():
                if number == "-1":  # librdkafka's queue of messages not yet partitioned
                    continue
                key = (name, int(number))
                history, reading = self._ends.get(key), partition_reading(info, self._start_offsets.get(key))
                if history is None or reading is None:
                    continue
                history.observe(now_s, reading.end)
                self.lag.labels(topic=name, partition=number).set(reading.records_behind)
                self.lag_seconds.labels(topic=name, partition=number).set(history.seconds_behind(now_s, reading))
        return any(broker.get("state") == "UP" for broker in stats.get("brokers", {}).values())
