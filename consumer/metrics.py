"""Prometheus metrics of one scorer process (own registry, so several can live in one test process)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import HistogramMetricFamily
from prometheus_client.registry import Collector

from consumer.bounded_call import still_blocked
from consumer.transform import BatchResult, OutputKind
from training.lookup import ServingModel

# The monitor's figure names, and the manifest's keys for them.
OFFLINE_FIGURES = {
    "roc_auc": "roc_auc",
    "pr_auc": "pr_auc",
    "recall": "recall_delayed",
    "precision": "precision_delayed",
    "brier": "brier",
}


class BatchHistogram(Collector):
    """A histogram fed a whole batch of observations at once (prometheus-client observes one value per call).

    The exposition is a plain Prometheus histogram: `<name>_bucket{le=...}`, `<name>_count`, `<name>_sum`.
    """

    def __init__(self, name: str, documentation: str, buckets: Sequence[float], registry: CollectorRegistry) -> None:
        self.name = name
        self.documentation = documentation
        self._bounds = np.asarray(buckets, dtype=np.float64)
        self._counts = np.zeros(len(buckets) + 1, dtype=np.int64)  # the last one: above every bound
        self._sum = 0.0
        self._lock = threading.Lock()
        registry.register(self)

    def observe_many(self, values: np.ndarray[Any, Any]) -> None:
        # `le` buckets: a value equal to a bound belongs to that bound's bucket.
        counts = np.bincount(np.searchsorted(self._bounds, values, side="left"), minlength=len(self._counts))
        with self._lock:
            self._counts += counts
            self._sum += float(values.sum())

    def collect(self) -> Iterator[HistogramMetricFamily]:
        with self._lock:
            cumulative, total = np.cumsum(self._counts).tolist(), self._sum
        buckets = [(repr(float(bound)), count) for bound, count in zip(self._bounds.tolist(), cumulative, strict=False)]
        buckets.append(("+Inf", cumulative[-1]))
        yield HistogramMetricFamily(self.name, self.documentation, buckets=buckets, sum_value=total)


class ScorerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.consumed = Counter("flightdelay_events_consumed", "Input records read", registry=r)
        self.scored = Counter("flightdelay_events_scored", "Predictions produced", registry=r)
        self.dead_lettered = Counter(
            "flightdelay_events_dead_lettered", "Dead letters produced, by error kind", ["reason"], registry=r
        )
        self.batch_size = Histogram(
            "flightdelay_batch_size",
            "Records per micro-batch",
            registry=r,
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
        )
        self.scoring_seconds = Histogram(
            "flightdelay_scoring_seconds",
            "Validation and scoring time per batch",
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
        )
        self.latency = BatchHistogram(
            "flightdelay_end_to_end_latency_seconds",
            "Input record timestamp to committed output",
            (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            r,
        )
        self.validated = Counter(
            "flightdelay_events_validated",
            "Input events by validation path: `native` (the compiled lane), `fast` (column-wise Python) or `contract`"
            " (pydantic, the reference)",
            ["path"],
            registry=r,
        )
        self.lag = Gauge(
            "flightdelay_consumer_lag", "Records behind the end of each input partition", ["partition"], registry=r
        )
        self.aborted = Counter("flightdelay_transactions_aborted", "Transactions aborted and retried", registry=r)
        self.producer_restarts = Counter(
            "flightdelay_producer_restarts",
            "Producers replaced after a fatal error or a timed-out offsets call",
            registry=r,
        )
        self.retries = Counter(
            "flightdelay_kafka_call_retries",
            "Kafka calls repeated because they timed out (the broker was away), by call",
            ["call"],
            registry=r,
        )
        self.rebalances = Counter(
            "flightdelay_rebalances", "Partition assignments and revocations", ["kind"], registry=r
        )
        self.model = Gauge("flightdelay_model_info", "The champion's version (1 while served)", ["version"], registry=r)
        per_version = ["role", "version"]
        self.roles = Gauge("flightdelay_model_role_info", "Versions served, by role", per_version, registry=r)
        self.offline = Gauge(
            "flightdelay_model_offline",
            "A served model's figure on its held-out test split (from its manifest): what the online one is held to",
            ["role", "version", "figure"],
            registry=r,
        )
        self.ready = Gauge("flightdelay_ready", "1 while /readyz answers 200 (model, partitions, broker)", registry=r)
        self.blocked_calls = Gauge(
            "flightdelay_abandoned_calls_blocked",
            "Kafka calls abandoned past their deadline whose threads are still blocked (bounded: the process exits "
            "at 3)",
            registry=r,
        )
        self.blocked_calls.set_function(lambda: float(still_blocked()))
        self.swaps = Counter(
            "flightdelay_model_swaps",
            "Model control records applied, by role and result: swapped, cleared, refused, invalid_record",
            ["role", "result"],
            registry=r,
        )
        self.model_scored = Counter("flightdelay_model_scored", "Events scored, by model", per_version, registry=r)
        self.model_delayed = Counter(
            "flightdelay_model_delayed", "Events predicted delayed, by model (share: / scored)", per_version, registry=r
        )
        self.model_probability = Counter(
            "flightdelay_model_probability_sum", "Probabilities summed (mean: / scored)", per_version, registry=r
        )
        self.model_seconds = Counter(
            "flightdelay_model_scoring_seconds", "Time spent scoring, by model", per_version, registry=r
        )

        self._start_offsets: dict[str, int] = {}

    def observe_batch(self, result: BatchResult, now_s: float) -> None:
        """Metrics of a committed batch: one update per metric and batch, none per event."""
        self.consumed.inc(result.consumed)
        self.batch_size.observe(result.consumed)
        self.validated.labels(path="native").inc(result.by_native)
        self.validated.labels(path="fast").inc(result.consumed - result.by_native - result.by_contract)
        self.validated.labels(path="contract").inc(result.by_contract)
        scored = len(result.outputs[OutputKind.PREDICTION])
        if scored:
            self.scored.inc(scored)
        for stats in result.models:
            labels = {"role": stats.role, "version": stats.version}
            self.model_scored.labels(**labels).inc(stats.scored)
            self.model_delayed.labels(**labels).inc(stats.delayed)
            self.model_probability.labels(**labels).inc(stats.probability_sum)
            self.model_seconds.labels(**labels).inc(stats.seconds)
        for kind, count in result.dead_lettered.items():
            self.dead_lettered.labels(reason=kind).inc(count)
        if result.timestamps_ms:
            ages_ms = now_s * 1000 - np.asarray(result.timestamps_ms, dtype=np.float64)
            self.latency.observe_many(np.maximum(ages_ms, 0) / 1000)

    def serving(self, champion: ServingModel, challenger: ServingModel | None) -> None:
        """The versions served from now on: the info gauges name only these, and their offline figures."""
        self.model.clear()
        self.model.labels(version=champion.version).set(1)
        self.roles.clear()
        self.offline.clear()
        for role, model in (("champion", champion), ("challenger", challenger)):
            if model is None:
                continue
            self.roles.labels(role=role, version=model.version).set(1)
            test = model.manifest.metrics.get("test", {})
            for figure, key in OFFLINE_FIGURES.items():
                if isinstance(test.get(key), int | float):
                    self.offline.labels(role=role, version=model.version, figure=figure).set(test[key])

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
    """Records between the scorer's position and the end a read_committed reader sees; None when unknown.

    The position is the next offset the scorer will read (`app_offset`), else the committed offset librdkafka
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
