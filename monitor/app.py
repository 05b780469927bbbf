"""The monitor's lifecycle and loop: read predictions, shadow predictions and outcomes; join them; commit the
joined records, the figures and the input offsets in one transaction.

The three input topics share their keys (flight ids) and partition count, and the range assignor gives one
instance the same partition of each, so partition p's join needs only partition p of each topic. The state
lives in memory; each commit stores with its offsets where a rebuild reads from and the watermark
(`monitor.records.commit_point`), and a newly assigned partition, or one whose transaction was aborted, is
rebuilt by re-reading that range without writing anything.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer

from confluent_kafka import Consumer, Message, TopicPartition

from consumer.committers import CommitEvents, make_committer, rewind
from consumer.exits import ExitCode, ScorerExit
from consumer.health import HealthState, start_health_server
from consumer.records import first_offsets, next_offsets, usable_records
from consumer.service import exit_code_of
from kafka_common.model_control import ControlReader
from kafka_common.settings import KafkaSettings, TopicSettings
from monitor.drift_watch import DriftWatch
from monitor.join import Joined, JoinState, Outcome, Prediction
from monitor.metrics import MonitorMetrics
from monitor.records import FlightRow, commit_point, parse, rebuild_plan
from monitor.references import References
from monitor.settings import MonitorSettings
from monitor.windows import ModelWindows
from schemas.monitoring import JoinedPrediction, ModelMetricsReport
from schemas.outputs import SourcePosition

log = logging.getLogger("monitor")
HOUR_S = 3600.0


class MonitorApp:
    def __init__(
        self, settings: MonitorSettings, kafka: KafkaSettings, topics: TopicSettings, bootstrap: str | None = None
    ) -> None:
        self.settings, self.topics = settings, topics
        self.metrics = MonitorMetrics()
        self.health = HealthState()
        self.health.model_loaded = True  # nothing to load: readiness is the broker and an assignment
        self.roles = {topics.predictions: "champion", topics.shadow_predictions: "challenger"}
        # The flight events too: their features' drift needs no join, and no rebuild (the window restarts empty).
        self.inputs = [topics.predictions, topics.shadow_predictions, topics.outcomes, topics.input]
        self.states: dict[int, JoinState] = {}
        self.windows = ModelWindows(settings.window_events, settings.window_hours * HOUR_S)
        self._stop = threading.Event()
        self._last_report = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._client = kafka.client_config(bootstrap)
        common = {**self._client, "logger": logging.getLogger("librdkafka"), "statistics.interval.ms": 2000}
        self.consumer = Consumer(
            {
                **common,
                "group.id": settings.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "partition.assignment.strategy": "range",  # partition p of every input to one instance
                "session.timeout.ms": settings.session_timeout_ms,
                "heartbeat.interval.ms": max(settings.session_timeout_ms // 5, 500),
                "stats_cb": lambda _stats: self.health.report_broker(True),
            }
        )
        producer = {
            **common,
            "enable.idempotence": True,
            "acks": "all",
            "transactional.id": settings.transactional_id,
            "transaction.timeout.ms": settings.transaction_timeout_ms,
        }
        references = References(ControlReader(self._client, topics.model_control), settings.model_uri)
        self.drift = DriftWatch(references, settings.drift_window_events, self.metrics)
        events = CommitEvents(on_abort=self.metrics.aborted.inc)
        self.committer = make_committer(
            True, self.consumer, producer, settings.transaction_timeout_ms / 1000, self._stop, events
        )

    def request_stop(self) -> None:
        self._stop.set()

    def run(self) -> int:
        try:
            return int(exit_code_of(self._serve_forever, log))
        finally:
            self.consumer.close()
            self.committer.close()
            self.drift.references.close()
            if self._server is not None:
                self._server.shutdown()

    def _serve_forever(self) -> None:
        self._server = start_health_server(self.settings.http_port, self.health, self.metrics.registry)
        self.consumer.list_topics(timeout=self.settings.startup_timeout_s)
        self.drift.references.start(self.settings.startup_timeout_s)
        self.committer.start()
        self.consumer.subscribe(self.inputs, on_assign=self._assigned, on_revoke=self._revoked)
        log.info("monitor starting", extra={"inputs": self.inputs, "group": self.settings.group_id})
        wait_s = self.settings.batch_max_wait_ms / 1000
        while not self._stop.is_set():
            self.health.last_loop = time.monotonic()
            records = usable_records(self.consumer.consume(self.settings.batch_size, timeout=wait_s))
            if records or time.monotonic() - self._last_report > self.settings.report_interval_s:
                self._process(records)

    # --- assignment: rebuild the state of each partition from what the last commit says ------------------------
    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = sorted({tp.partition for tp in partitions})
        self._rebuild(numbers)
        self.health.assigned_partitions = len(partitions)
        log.info("assigned", extra={"partitions": numbers})

    def _revoked(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for number in {tp.partition for tp in partitions}:
            self.states.pop(number, None)
        self.health.assigned_partitions = 0

    def _rebuild(self, numbers: list[int]) -> None:
        """Re-read, without writing, what each partition's state held at its last commit."""
        wanted = [TopicPartition(topic, n) for topic in self.inputs for n in numbers]
        committed = self.consumer.committed(wanted, timeout=30)
        reader = Consumer(
            {**self._client, "group.id": f"{self.settings.group_id}-rebuild", "enable.auto.commit": False,
             "isolation.level": "read_committed", "enable.partition.eof": True}
        )  # fmt: skip
        try:
            for number in numbers:
                points = [tp for tp in committed if tp.partition == number]
                plan = rebuild_plan(points)
                state = JoinState(
                    self.settings.horizon_hours * HOUR_S,
                    plan.newest_s,
                    max_held=self.settings.max_held,
                    watermark_s=plan.watermark_s,
                )
                self.states[number] = state
                self.metrics.rebuilt.inc(self._reread(reader, state, plan.ranges))
        finally:
            reader.close()

    def _reread(self, reader: Consumer, state: JoinState, ranges: dict[tuple[str, int], tuple[int, int]]) -> int:
        if not ranges:
            return 0
        reader.assign([TopicPartition(topic, p, start) for (topic, p), (start, _) in ranges.items()])
        remaining = dict(ranges)
        count = 0
        deadline = time.monotonic() + 60
        while remaining and time.monotonic() < deadline:
            for message in reader.consume(1000, timeout=0.5):
                key = (message.topic() or "", message.partition() or 0)
                if key not in remaining:
                    continue
                if message.error() is None and (message.offset() or 0) < remaining[key][1]:
                    self._join(parse(message, self.roles, self.topics.input), state)
                    count += 1
                if message.error() is not None or (message.offset() or 0) + 1 >= remaining[key][1]:
                    del remaining[key]  # the end of the range (or of the partition)
        if remaining:
            raise ScorerExit(ExitCode.FATAL, f"could not re-read {sorted(remaining)} to rebuild the join state")
        return count

    # --- one batch ------------------------------------------------------------------------------------------
    def _process(self, records: Sequence[Message]) -> None:
        joined: list[Joined] = []
        flights: list[FlightRow] = []
        predictions: list[Prediction] = []
        for record in records:
            parsed = parse(record, self.roles, self.topics.input)
            if isinstance(parsed, FlightRow):
                flights.append(parsed)
                continue
            if isinstance(parsed, Prediction):
                predictions.append(parsed)
            joined += self._join(parsed, self.states[record.partition() or 0])
        for state in self.states.values():
            state.evict()
        now = datetime.now(UTC)
        outputs = {self.topics.joined: [(j.prediction.flight_id.encode(), _joined_json(j)) for j in joined]}
        reports = self._reports(now) if time.monotonic() - self._last_report > self.settings.report_interval_s else []
        outputs[self.topics.model_metrics] = [(r.model_version.encode(), r.model_dump_json().encode()) for r in reports]
        if self.committer.commit(outputs, self._offsets(records)):
            for pair in joined:
                key = self.windows.add(pair)
                self.metrics.joined.labels(role=key[0], version=key[1]).inc()
            self.drift.observe(flights, predictions)
            for report in reports:
                self.metrics.report(report.role, report.model_version, report.window, report)
            if reports or not records:
                self.drift.report()
                self._last_report = time.monotonic()
            self.metrics.pending.set(sum(state.pending for state in self.states.values()))
        else:
            rewind(self.consumer, first_offsets(records))
            self._rebuild(sorted({record.partition() or 0 for record in records}))

    def _join(self, parsed: Prediction | Outcome | FlightRow | str, state: JoinState) -> list[Joined]:
        if isinstance(parsed, FlightRow):
            return []
        if isinstance(parsed, str):
            self.metrics.read.labels(kind="invalid").inc()
            log.warning("skipping a record: %s", parsed)
            return []
        if isinstance(parsed, Prediction):
            self.metrics.read.labels(kind=parsed.role).inc()
            pair = state.add_prediction(parsed)
            return [pair] if pair else []
        self.metrics.read.labels(kind="outcome").inc()
        return state.add_outcome(parsed)

    def _offsets(self, records: Sequence[Message]) -> list[TopicPartition]:
        """Every input of each partition in the batch, with the rebuild point and watermark of its state."""
        reached = {(tp.topic, tp.partition): tp.offset for tp in next_offsets(records)}
        numbers = sorted({partition for _, partition in reached})
        positions = self.consumer.position([TopicPartition(t, n) for t in self.inputs for n in numbers])
        earliest = {number: self.states[number].replay_from() for number in numbers}
        points = []
        for position in positions:
            offset = reached.get((position.topic, position.partition), position.offset)
            if offset >= 0:
                state = self.states[position.partition]
                points.append(
                    commit_point(position.topic, position.partition, offset, state, earliest[position.partition])
                )
        return points

    def _reports(self, now: datetime) -> list[ModelMetricsReport]:
        pending = sum(state.pending for state in self.states.values())
        reports = []
        for role, version in self.windows.models():
            for window, figures in self.windows.figures((role, version)).items():
                reports.append(
                    ModelMetricsReport(
                        role=role,  # type: ignore[arg-type]
                        model_version=version,
                        window=window,  # type: ignore[arg-type]
                        pending=pending,
                        reported_at=now,
                        **figures.as_dict(),
                    )
                )
        return reports


def _joined_json(pair: Joined) -> bytes:
    p, o = pair.prediction, pair.outcome
    return (
        JoinedPrediction(
            flight_id=p.flight_id,
            role=p.role,  # type: ignore[arg-type]
            model_version=p.version,
            delay_probability=p.probability,
            threshold=p.threshold,
            predicted_delayed=p.probability >= p.threshold,
            delayed=o.delayed,
            delay_minutes=o.delay_minutes,
            scheduled_departure=datetime.fromtimestamp(p.departure_s, UTC),
            prediction=SourcePosition(topic=p.position[0], partition=p.position[1], offset=p.position[2]),
            outcome=SourcePosition(topic=o.position[0], partition=o.position[1], offset=o.position[2]),
        )
        .model_dump_json()
        .encode()
    )
