"""The monitor as a processor on the stream runtime: read predictions, shadow predictions, outcomes and flight
events; join predictions with outcomes; check the stream features each joined prediction carries against the
training definition (`monitor.stream_consistency`); commit the joined records, the figures and the input offsets
in one transaction.

The three joined topics share their keys (flight ids) and partition count, and the range assignor gives one
instance the same partition of each, so partition p's join needs only partition p of each topic. The state
lives in memory; each commit stores with its offsets where a rebuild reads from and the watermark
(`monitor.records.commit_point`), and a newly assigned partition, or one whose batch was aborted, is rebuilt by
re-reading that range (`monitor.rebuild`) from the loop, the partitions paused meanwhile.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Message, TopicPartition

from kafka_common.model_control import ControlReader
from kafka_common.model_fleet import FleetReader
from kafka_common.settings import TopicSettings
from monitor.autopilot import Mode, Policy
from monitor.autopilot_control import AutopilotControl
from monitor.drift_watch import DriftWatch
from monitor.estimate_reports import estimated_figures, waiting_estimates
from monitor.estimation import estimate
from monitor.gate import comparison_report
from monitor.join import Joined, JoinState, Outcome, Prediction
from monitor.metrics import MonitorMetrics
from monitor.pairing import Lineup, PairedFlights
from monitor.rebuild import StateRebuilder
from monitor.records import FlightRow, RebuildPlan, commit_point, parse
from monitor.references import References
from monitor.repeats import last_report_stands
from monitor.settings import MonitorSettings
from monitor.stream_consistency import ConsistencyCounts, StreamConsistency
from monitor.windows import ModelKey, ModelWindows
from schemas.model_control import ModelRole
from schemas.monitoring import (
    FeatureConsistency,
    JoinedPrediction,
    ModelComparisonReport,
    ModelMetricsReport,
    PerformanceEstimateReport,
    StreamConsistencyReport,
)
from schemas.outputs import SourcePosition
from stream_runtime.processor import Batch, ConsumerView, Processor, RuntimeView
from stream_runtime.records import next_offsets
from stream_runtime.runtime import ServiceSpec, StreamRuntime
from stream_runtime.settings import KafkaSettings
from training.departures_table import DeparturesTable, departure_age_s
from training.model_store import load_ref
from training.stream_features import STREAM_FEATURE_NAMES

log = logging.getLogger("monitor")
METRIC_PREFIX = "flightdelay_monitor"  # of the runtime's metrics: the alert rules and the dashboard use them
HOUR_S = 3600.0


@dataclass(frozen=True)
class Watched:
    """What a committed batch still has to report."""

    joined: list[Joined]
    flights: list[FlightRow]
    predictions: list[Prediction]
    reports: list[ModelMetricsReport]
    estimates: list[PerformanceEstimateReport]
    comparisons: list[ModelComparisonReport]
    consistency: ConsistencyCounts
    reported: bool  # the report was due: figures and drift go out with this batch
    reported_joined: dict[ModelKey, int]  # the joined flights each reported model's figures cover
    compared_pairs: dict[Lineup, int]  # the paired flights each lineup's comparison covers


class MonitorProcessor(Processor[Watched]):
    recovers_state = True

    def __init__(self, settings: MonitorSettings, topics: TopicSettings, client: dict[str, Any]) -> None:
        self.settings, self.topics = settings, topics
        self.metrics = MonitorMetrics()
        self.roles = {topics.predictions: ModelRole.CHAMPION, topics.shadow_predictions: ModelRole.CHALLENGER}
        # The flight events too: their features' drift needs no join, and no rebuild (the window restarts empty).
        self.inputs = [topics.predictions, topics.shadow_predictions, topics.outcomes, topics.input]
        self.states: dict[int, JoinState] = {}
        self.windows = ModelWindows(settings.window_events, settings.window_hours * HOUR_S)
        self._last_report = 0.0
        self._newest_event_s: int | None = None  # the latest moment a flight event read was known at
        fleet = FleetReader(client, topics.model_fleet)
        references = References(ControlReader(client, topics.model_control), settings.model_uri, fleet)
        self.drift = DriftWatch(references, settings.drift_window_events, self.metrics)
        self.pairs = PairedFlights(keep=settings.comparison_max_flights)
        self._compared: dict[Lineup, int] = {}  # paired flights of each lineup's last comparison
        self._reported: dict[ModelKey, int] = {}  # joined flights of each model's last report
        self.consistency = StreamConsistency(
            DeparturesTable(client, topics.outcomes), settings.stream_catch_up_s, settings.stream_events_held
        )
        self.autopilot = AutopilotControl(
            Mode(settings.autopilot),
            Policy(settings.autopilot_min_flights, settings.autopilot_brier_margin),
            client,
            topics.model_control,
            f"{settings.group_id}-autopilot",
            self.metrics,
            load_ref,
        )
        self.rebuilder = StateRebuilder(
            client,
            settings.group_id,
            self.inputs,
            settings.rebuild_timeout_s,
            self._new_state,
            lambda message, state: self._join(parse(message, self.roles, topics.input), state),
        )
        self._consumer: ConsumerView | None = None

    # --- lifecycle ------------------------------------------------------------------------------------------
    def attach(self, runtime: RuntimeView) -> None:
        self._consumer = runtime.consumer

    def start(self) -> None:
        self.drift.references.start(self.settings.startup_timeout_s)

    def description(self) -> Mapping[str, Any]:
        return {"inputs": self.inputs, "group": self.settings.group_id}

    def close(self) -> None:
        self.drift.references.close()
        self.consistency.source.close()

    # --- partitions: rebuilt from what the last commit says ------------------------------------------------------
    def recover(self, partitions: list[TopicPartition]) -> None:
        self._rebuild(sorted({tp.partition for tp in partitions}))

    def revoked(self, partitions: list[TopicPartition]) -> None:
        for number in {tp.partition for tp in partitions}:
            self.states.pop(number, None)

    def aborted(self, records: Sequence[Message]) -> None:
        self._rebuild(sorted({record.partition() or 0 for record in records}))

    def _rebuild(self, numbers: list[int]) -> None:
        if numbers:
            assert self._consumer is not None, "attached before the first batch"
            states, count = self.rebuilder.rebuild(self._consumer, numbers)
            self.states.update(states)
            self.metrics.rebuilt.inc(count)

    def _new_state(self, plan: RebuildPlan) -> JoinState:
        return JoinState(
            self.settings.horizon_hours * HOUR_S,
            plan.newest_s,
            max_held=self.settings.max_held,
            watermark_s=plan.watermark_s,
        )

    # --- one batch ------------------------------------------------------------------------------------------
    def due(self) -> bool:
        return time.monotonic() - self._last_report > self.settings.report_interval_s

    def process(self, records: Sequence[Message], now: datetime, due: bool) -> Batch[Watched]:
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
        self.consistency.observe(flights)
        consistency = self.consistency.check(joined)
        for state in self.states.values():
            state.evict()
        reported = self._due_models() if due else {}
        reports = self._reports(reported, now)
        estimates = waiting_estimates(self.states.values(), self.settings.window_events, now) if due else []
        compared = self._due_lineups() if due else {}
        comparisons = self._comparisons(compared, now)
        metrics = [(r.model_version.encode(), r.model_dump_json().encode()) for r in reports]
        metrics += [(e.model_version.encode(), e.model_dump_json().encode()) for e in estimates]
        if due and (self.consistency.totals or consistency):
            checked = self._consistency_report(consistency, now)
            metrics.append((checked.key, checked.model_dump_json().encode()))
        outputs = {
            self.topics.joined: [(j.prediction.flight_id.encode(), _joined_json(j)) for j in joined],
            self.topics.model_metrics: metrics + [(c.key, c.model_dump_json().encode()) for c in comparisons],
        }
        watched = Watched(
            joined, flights, predictions, reports, estimates, comparisons, consistency, due, reported, compared
        )
        return Batch(outputs, self._offsets(records), watched)

    def committed(self, batch: Batch[Watched]) -> None:
        watched = batch.context
        for pair in watched.joined:
            key = self.windows.add(pair)
            self.pairs.add(pair)
            self.metrics.joined.labels(role=key[0], version=key[1]).inc()
        self.drift.observe(watched.flights, watched.predictions)
        self.consistency.record(watched.consistency)
        self.metrics.consistency(watched.consistency, self.consistency.waiting)
        for report in watched.reports:
            self.metrics.report(report.role, report.model_version, report.window, report)
        self._reported.update(watched.reported_joined)
        for estimated in watched.estimates:
            self.metrics.estimated(estimated.role, estimated.model_version, "waiting", estimated.figures)
        for comparison in watched.comparisons:
            self.metrics.comparison(comparison)
        self._compared.update(watched.compared_pairs)
        written = self.autopilot.carry_out(watched.comparisons, self.drift.references.lineup)
        self.drift.references.lineup.update({record.role: record for record in written})
        if watched.reported:
            self.drift.report()
            self._last_report = time.monotonic()
        self.metrics.pending.set(sum(state.pending for state in self.states.values()))
        known = [f.known_at_s for f in watched.flights]
        if self._newest_event_s is not None:
            known.append(self._newest_event_s)
        self._newest_event_s = max(known, default=None)
        outcomes = [s.newest_outcome_known_s for s in self.states.values() if s.newest_outcome_known_s is not None]
        age = departure_age_s(self._newest_event_s, max(outcomes, default=None))
        self.metrics.outcome_age.set(math.nan if age is None else age)

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
        assert self._consumer is not None, "attached before the first batch"
        reached = {(tp.topic, tp.partition): tp.offset for tp in next_offsets(records)}
        numbers = sorted({partition for _, partition in reached})
        positions = self._consumer.position([TopicPartition(t, n) for t in self.inputs for n in numbers])
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

    def _due_models(self) -> dict[ModelKey, int]:
        """The models whose figures go out this time, with the joined flights they cover."""
        serves = self.drift.references.serves
        due = {}
        for key in self.windows.models():
            joined = self.windows.joined(key)
            if not last_report_stands(self._reported.get(key), joined, serves(*key)):
                due[key] = joined
        return due

    def _reports(self, models: Iterable[ModelKey], now: datetime) -> list[ModelMetricsReport]:
        """Each window's figures, with the same flights' figures estimated from their probabilities alone."""
        pending = sum(state.pending for state in self.states.values())
        reports = []
        for role, version in models:
            for window, sample in self.windows.samples((role, version)).items():
                figures = sample.figures().as_dict()
                found = estimate(sample.probability, sample.threshold)
                reports.append(
                    ModelMetricsReport(
                        role=role,
                        model_version=version,
                        window=window,
                        pending=pending,
                        estimated=estimated_figures(found, figures),
                        reported_at=now,
                        **figures,
                    )
                )
        return reports

    def _consistency_report(self, batch: ConsistencyCounts, now: datetime) -> StreamConsistencyReport:
        """This instance's counts so far, this batch's included (it commits with the report)."""
        counts = ConsistencyCounts()
        counts.add(self.consistency.totals)
        counts.add(batch)
        return StreamConsistencyReport(
            monitor=self.settings.instance_id,
            predictions=counts.predictions,
            unchecked=counts.unchecked,
            features=[
                FeatureConsistency(feature=name, values=counts.values[name], mismatched=counts.mismatched[name])
                for name in STREAM_FEATURE_NAMES
            ],
            reported_at=now,
        )

    def _due_lineups(self) -> dict[Lineup, int]:
        """The lineups whose comparison goes out this time, with the paired flights it covers."""
        serves = self.drift.references.serves
        return {
            (champion, challenger): sample.paired
            for (champion, challenger), sample in sorted(self.pairs.lineups().items())
            if not last_report_stands(
                self._compared.get((champion, challenger)),
                sample.paired,
                serves(ModelRole.CHAMPION, champion) and serves(ModelRole.CHALLENGER, challenger),
            )
        }

    def _comparisons(self, lineups: Iterable[Lineup], now: datetime) -> list[ModelComparisonReport]:
        """Each lineup's paired comparison, with the autopilot's decision (only partition 0's holder acts)."""
        lineup, samples = self.drift.references.lineup, self.pairs.lineups()
        reports = []
        for pair in lineups:
            report = comparison_report(pair, samples[pair], now)
            if report is not None:
                reports.append(self.autopilot.judge(report, lineup, acting=0 in self.states))
        return reports


def monitor(
    settings: MonitorSettings, kafka: KafkaSettings, topics: TopicSettings, bootstrap: str | None = None
) -> StreamRuntime:
    """One monitor instance in its group: the monitor's processor on the runtime."""
    client = kafka.client_config(bootstrap)
    processor = MonitorProcessor(settings, topics, client)
    spec = ServiceSpec(
        name="monitor",
        inputs=processor.inputs,
        metric_prefix=METRIC_PREFIX,
        port_variable="MONITOR_HTTP_PORT",
        assignment_strategy="range",  # partition p of every input to one instance
    )
    return StreamRuntime(processor, spec, settings, client, processor.metrics.registry)


def _joined_json(pair: Joined) -> bytes:
    p, o = pair.prediction, pair.outcome
    return (
        JoinedPrediction(
            flight_id=p.flight_id,
            role=p.role,
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
