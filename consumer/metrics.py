"""Prometheus metrics of one scorer process (own registry, so several can live in one test process)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any, get_args

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import HistogramMetricFamily
from prometheus_client.registry import Collector

from consumer.model_follower import SwapResult
from consumer.transform import BatchResult, OutputKind
from schemas.model_control import ModelRole
from schemas.outputs import ErrorKind
from training.lookup import ServingModel
from training.manifest import OFFLINE_FIGURES


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


UNKNOWN_ROLE = "unknown"  # a control record too broken to name its role


class ScorerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.consumed = Counter("flightdelay_events_consumed", "Input records read", registry=r)
        self.scored = Counter("flightdelay_events_scored", "Predictions produced", registry=r)
        self.dead_lettered = Counter(
            "flightdelay_events_dead_lettered", "Dead letters produced, by error kind", ["reason"], registry=r
        )
        # Every kind exported from the start at 0: a series first seen at its burst's total has no increase for
        # `rate()`, and the dead-letter alert would miss the first burst of each kind.
        for kind in get_args(ErrorKind):
            self.dead_lettered.labels(reason=kind)
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
        self.model = Gauge("flightdelay_model_info", "The champion's version (1 while served)", ["version"], registry=r)
        per_version = ["role", "version"]
        self.roles = Gauge("flightdelay_model_role_info", "Versions served, by role", per_version, registry=r)
        self.offline = Gauge(
            "flightdelay_model_offline",
            "A served model's figure on its held-out test split (from its manifest): what the online one is held to",
            ["role", "version", "figure"],
            registry=r,
        )
        self.swaps = Counter(
            "flightdelay_model_swaps",
            "Model control records applied, by role and result: swapped, cleared, refused, invalid_record",
            ["role", "result"],
            registry=r,
        )
        for role in (*(str(role) for role in ModelRole), UNKNOWN_ROLE):
            for result in get_args(SwapResult):
                self.swaps.labels(role=role, result=result)  # at 0 from the start, as the dead letters
        self.model_scored = Counter("flightdelay_model_scored", "Events scored, by model", per_version, registry=r)
        self.stream_behind = Counter(
            "flightdelay_stream_events_behind",
            "Events a stream-feature model scored before the departures read reached the topic's end",
            registry=r,
        )
        self.stream_outcomes = Gauge(
            "flightdelay_stream_outcomes_held",
            "Outcomes the departures table holds for the stream features",
            registry=r,
        )
        self.stream_departure_age = Gauge(
            "flightdelay_stream_newest_departure_age_seconds",
            "Flight time from the newest departure the departures table read to the newest event scored with stream "
            "features (+Inf: none read; NaN: no version served reads them); grows when the departures feed stops",
            registry=r,
        )
        self.stream_unusable = Counter(
            "flightdelay_stream_outcomes_unusable",
            "Departures records skipped: not an outcome (invalid) or not saying whose flight (without_keys)",
            ["reason"],
            registry=r,
        )
        for reason in ("invalid", "without_keys"):
            self.stream_unusable.labels(reason=reason)
        self.model_delayed = Counter(
            "flightdelay_model_delayed", "Events predicted delayed, by model (share: / scored)", per_version, registry=r
        )
        self.model_probability = Counter(
            "flightdelay_model_probability_sum", "Probabilities summed (mean: / scored)", per_version, registry=r
        )
        self.model_seconds = Counter(
            "flightdelay_model_scoring_seconds", "Time spent scoring, by model", per_version, registry=r
        )

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
        for role, model in ((ModelRole.CHAMPION, champion), (ModelRole.CHALLENGER, challenger)):
            if model is None:
                continue
            self.roles.labels(role=role, version=model.version).set(1)
            test = model.manifest.metrics.get("test", {})
            for figure, key in OFFLINE_FIGURES.items():
                if isinstance(test.get(key), int | float):
                    self.offline.labels(role=role, version=model.version, figure=figure).set(test[key])
