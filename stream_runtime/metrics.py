"""The runtime's own Prometheus metrics, in the service's registry under the service's prefix: commits aborted,
producers replaced, calls retried, rebalances, lag per partition, readiness and abandoned calls."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge

from stream_runtime.bounded_call import still_blocked


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
            f"{prefix}_consumer_lag", "Records behind the end of each input partition", ["partition"], registry=r
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
        self._start_offsets: dict[str, int] = {}

    def partitions_assigned(self, committed: dict[int, int]) -> None:
        """The group's committed offsets of newly assigned partitions: where the lag counts from until a record
        is consumed (with exactly-once, offsets are committed through the producer and the consumer never
        learns them)."""
        self._start_offsets.update({str(partition): offset for partition, offset in committed.items()})

    def partitions_revoked(self, partitions: list[int]) -> None:
        """Another instance now reports these partitions' lag."""
        for partition in map(str, partitions):
            self._start_offsets.pop(partition, None)
            with contextlib.suppress(KeyError):
                self.lag.remove(partition)

    def update_from_statistics(self, stats_json: str) -> bool:
        """Take consumer lag from librdkafka statistics; return whether any broker is up."""
        stats = orjson.loads(stats_json)
        for topic in stats.get("topics", {}).values():
            for partition, info in topic.get("partitions", {}).items():
                lag = partition_lag(info, self._start_offsets.get(partition))
                if partition != "-1" and lag is not None:
                    self.lag.labels(partition=partition).set(lag)
        return any(broker.get("state") == "UP" for broker in stats.get("brokers", {}).values())


def partition_lag(info: dict[str, Any], start_offset: int | None) -> int | None:
    """Records between the service's position and the end a read_committed reader sees; None when unknown.

    The position is the next offset the service will read (`app_offset`), else the committed offset librdkafka
    knows (at-least-once), else the one read from the group at assignment (`start_offset`). librdkafka's own
    `consumer_lag` counts from the committed offset only, which exactly-once never tells the consumer.
    """
    if info.get("fetch_state") != "active":
        return None
    stable, high = info.get("ls_offset", -1), info.get("hi_offset", -1)
    end = stable if stable >= 0 else high
    if end < 0:
        return None
    for position in (info.get("app_offset", -1), info.get("committed_offset", -1), start_offset):
        if position is not None and position >= 0:
            return int(max(end - position, 0))
    return None
