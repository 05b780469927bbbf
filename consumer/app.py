"""The scorer as a processor on the stream runtime: a batch of flight events in, predictions, shadow predictions
and dead letters out, scored by the models the control topic names.

What a batch writes is computed by `consumer.transform` (no client there); how it is read, committed, retried and
recovered is the runtime's (`stream_runtime`). This module only wires the two, the model follower, the
invalid-input limit and `POST /predict`.
"""

from __future__ import annotations

import gc
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confluent_kafka import Message

from consumer import native_lane
from consumer.invalid_limit import Admission, InvalidRatioLimit
from consumer.metrics import UNKNOWN_ROLE, ScorerMetrics
from consumer.model_follower import ModelFollower
from consumer.predict_endpoint import PredictEndpoint
from consumer.rollout import Lineup
from consumer.scoring import BatchScorer
from consumer.settings import ScorerSettings
from consumer.transform import BatchResult, BatchTransform, OutputKind
from kafka_common.model_control import ControlReader
from kafka_common.model_fleet import FleetWriter
from kafka_common.settings import TopicSettings
from schemas.model_control import RefusedRecord
from stream_runtime.exits import ExitCode, ServiceExit
from stream_runtime.processor import Batch, Processor, RuntimeView
from stream_runtime.runtime import ServiceSpec, StreamRuntime
from stream_runtime.settings import KafkaSettings
from training.departures_table import DeparturesTable, FeatureSource
from training.manifest import ModelVerificationError
from training.model_store import load_ref
from training.stream_state import fastest_state

log = logging.getLogger("consumer")
METRIC_PREFIX = "flightdelay"  # of the runtime's metrics: the alert rules and the dashboard use them
MODEL_LOADED = "model_loaded"


@dataclass(frozen=True)
class Scored:
    """What a committed batch still has to report: its result and what the invalid-input limit admitted."""

    result: BatchResult
    admission: Admission
    stream_current: bool  # the departures were read to their end before the batch (or no version needs them)


class ScorerProcessor(Processor[Scored]):
    def __init__(
        self,
        settings: ScorerSettings,
        topics: TopicSettings,
        follower: ModelFollower,
        fleet: FleetWriter | None = None,
        departures: DeparturesTable | None = None,
    ) -> None:
        self.settings = settings
        self.departures = departures  # read only while a version served reads stream features
        self.metrics = ScorerMetrics()
        self.follower = follower
        self.fleet = fleet
        self._told: tuple[Lineup | None, RefusedRecord | None] = (None, None)  # what the fleet topic last heard
        self.limit = InvalidRatioLimit(
            settings.max_invalid_ratio,
            settings.invalid_window,
            settings.invalid_min_events,
            settings.invalid_allowance,
            settings.max_consecutive_invalid,
        )
        self._topic_of = {
            OutputKind.PREDICTION: topics.predictions,
            OutputKind.DEAD_LETTER: topics.dead_letter,
            OutputKind.SHADOW: topics.shadow_predictions,
        }
        self.transform: BatchTransform | None = None
        self.http_transform: BatchTransform | None = None  # its own: the two run on different threads
        self.predict = PredictEndpoint(
            lambda: self.http_transform, settings.predict_max_events, settings.predict_concurrency
        )
        self._runtime: RuntimeView | None = None
        self._unusable_seen = (0, 0)  # the departures table's unusable counts already exported

    def attach(self, runtime: RuntimeView) -> None:
        self._runtime = runtime

    def start(self) -> None:
        try:
            self.follower.start(self.settings.model_uri, self.settings.startup_timeout_s)
        except ModelVerificationError as exc:
            raise ServiceExit(ExitCode.CONFIG, f"refusing to start: {exc}") from exc
        self._serve()
        self._tell_fleet()
        # What is loaded by now (libraries, the model) lives as long as the process: out of the collector's
        # generations, full collections do not scan it and add no latency spikes to batches.
        gc.freeze()

    def description(self) -> Mapping[str, Any]:
        return {
            "model_version": self.follower.champion.version,
            "challenger_version": self.follower.challenger.version if self.follower.challenger else None,
            "guarantee": str(self.settings.processing_guarantee),
            "transactional_id": self.settings.transactional_id if self.settings.exactly_once else None,
            "group": self.settings.group_id,
            # Without the extension the Python path scores alone: the same outputs at several times the CPU.
            "compiled_lane": native_lane.available(),
        }

    def between_batches(self) -> None:
        if self.follower.poll():  # between two batches: no batch is scored by two champions
            self._serve()
        self._tell_fleet()
        table = self._table_read()
        if table is not None:
            table.poll()

    def process(self, records: Sequence[Message], now: datetime, due: bool) -> Batch[Scored]:
        assert self.transform is not None, "models are chosen before the first batch"
        table = self._table_read()
        current = table.catch_up(self.settings.stream_catch_up_s) if table is not None else True
        started = time.perf_counter()
        result = self.transform(records, now, current)
        self.metrics.scoring_seconds.observe(time.perf_counter() - started)
        admission = self.limit.admit(result.valid, result.invalid, result.invalid_runs)
        if admission.fail_closed:
            raise ServiceExit(
                ExitCode.INVALID_RATIO,
                f"failing closed: {admission.why}. Fix the producer; to "
                "dead-letter a burst that is understood and go on, restart once with SCORER_INVALID_ALLOWANCE set "
                f"to at least its size ({self.limit.allowance:,} left now)",
            )
        outputs = {self._topic_of[kind]: pairs for kind, pairs in result.outputs.items() if pairs}
        return Batch(outputs, result.offsets, Scored(result, admission, current))

    def committed(self, batch: Batch[Scored]) -> None:
        result, admission = batch.context.result, batch.context.admission
        self.limit.record(result.valid, admission, result.invalid_runs)
        if admission.allowed:
            log.warning(
                "dead-lettered %d invalid events under SCORER_INVALID_ALLOWANCE (%d left)",
                admission.allowed,
                self.limit.allowance,
            )
        self.metrics.observe_batch(result, time.time())
        if not batch.context.stream_current:
            self.metrics.stream_behind.inc(len(result.outputs[OutputKind.PREDICTION]))
        if self.departures is not None:
            counts = self.departures.counts
            self.metrics.stream_outcomes.set(len(self.departures.state))
            # NaN while no version served reads them: a frozen age would keep alerting for an event-only fleet.
            age = self.departures.newest_departure_age_s() if self._table_read() is not None else math.nan
            if age is not None:
                self.metrics.stream_departure_age.set(age)
            self.metrics.stream_unusable.labels(reason="invalid").inc(counts.invalid - self._unusable_seen[0])
            self.metrics.stream_unusable.labels(reason="without_keys").inc(counts.without_keys - self._unusable_seen[1])
            self._unusable_seen = (counts.invalid, counts.without_keys)

    def close(self) -> None:
        self.follower.reader.close()
        if self.departures is not None:
            self.departures.close()
        if self.fleet is not None and self._told[0] is not None:
            self.fleet.withdraw()

    def _tell_fleet(self) -> None:
        """Publish what this instance serves when that, or the last refusal, changed, and again when the last
        status is due: a reader tells a running instance from one killed by the age of its status."""
        now = (self.follower.lineup, self.follower.refused)
        if self.fleet is None or now[0] is None or (now == self._told and not self.fleet.report_due()):
            return
        self._told = now
        self.fleet.publish(now[0].champion, now[0].challenger if now[0].shadowing else None, now[1])

    def _serve(self) -> None:
        """Score from now on with the follower's models."""
        champion, challenger = self.follower.champion, self.follower.challenger
        top = self.settings.top_contributions

        def transform(departures: FeatureSource | None) -> BatchTransform:
            return BatchTransform(
                BatchScorer(champion, top),
                challenger=BatchScorer(challenger, top) if challenger else None,
                group_id=self.settings.group_id,
                max_payload_bytes=self.settings.max_payload_bytes,
                dead_letter_max_value_bytes=self.settings.dead_letter_max_value_bytes,
                departures=departures,
            )

        # `POST /predict` reads the table from the HTTP server's threads: through its locked view.
        requests = self.departures.for_requests() if self.departures is not None else None
        self.transform, self.http_transform = transform(self.departures), transform(requests)
        self._build_departures()
        self.metrics.serving(champion, challenger)
        if self._runtime is not None:
            self._runtime.health.conditions[MODEL_LOADED] = True

    def _table_read(self) -> DeparturesTable | None:
        """The departures table, while a version served reads stream features."""
        reads = self.transform is not None and self.transform.departures is not None
        return self.departures if reads else None

    def _build_departures(self) -> None:
        """Read the departures to their end once a version needs them, before its first batch and with the
        start-up's patience: the table is built here (the whole topic at start), so each batch then waits only
        for what arrived since."""
        table = self._table_read()
        if table is None:
            return
        started, read = time.monotonic(), table.counts.read
        if table.catch_up(self.settings.startup_timeout_s):
            log.info(
                "departures table current: %d outcomes read in %.1f s, %d held",
                table.counts.read - read,
                time.monotonic() - started,
                len(table.state),
            )
        else:
            log.warning(
                "departures table not current after %.0f s (%d outcomes held): batches go on, flagged behind "
                "until it is",
                self.settings.startup_timeout_s,
                len(table.state),
            )


def scorer(
    settings: ScorerSettings, kafka: KafkaSettings, topics: TopicSettings, bootstrap: str | None = None
) -> StreamRuntime:
    """One scorer instance in the consumer group: the scorer's processor on the runtime."""
    client = kafka.client_config(bootstrap)
    follower = ModelFollower(
        ControlReader({**client, "logger": logging.getLogger("librdkafka")}, topics.model_control),
        load_ref,
        lambda role, result: processor.metrics.swaps.labels(role=str(role or UNKNOWN_ROLE), result=result).inc(),
    )
    fleet = FleetWriter(client, topics.model_fleet, settings.group_id, settings.instance_id, settings.fleet_report_s)
    # Connects only once a version needs stream features; holds them where the compiled lane reads them.
    departures = DeparturesTable(client, topics.outcomes, state=fastest_state())
    processor = ScorerProcessor(settings, topics, follower, fleet, departures)
    spec = ServiceSpec(
        name="scorer",
        inputs=[topics.input],
        metric_prefix=METRIC_PREFIX,
        port_variable="SCORER_HTTP_PORT",
        conditions=(MODEL_LOADED,),
        max_message_bytes=topics.dead_letter_max_message_bytes,
        post_routes={"/predict": processor.predict} if settings.predict_concurrency else {},
        max_body_bytes=settings.predict_max_bytes,
    )
    return StreamRuntime(processor, spec, settings, client, processor.metrics.registry)
