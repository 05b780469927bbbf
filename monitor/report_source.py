"""The report's inputs, read from the broker as it is now: the monitor's joined predictions, the flight events,
the monitor's stream-feature checks and the reference profiles of the versions the control topic (or
`MONITOR_MODEL_URI`, or the running scorers) names. Reads only: no group is joined and nothing is committed, so a
report can run beside a live monitor."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from kafka_common.model_control import ControlReader
from kafka_common.model_fleet import FleetReader
from kafka_common.settings import TopicSettings
from monitor.join import Prediction
from monitor.records import FlightRow, parse
from monitor.references import References
from monitor.report import drift_over_time, estimates_over, model_rows, reliability, rolling
from monitor.report_gate import gate_over_time, paired_samples
from monitor.report_page import ReportInputs
from monitor.settings import MonitorSettings
from schemas.model_control import ModelRole
from schemas.monitoring import MODEL_METRICS_RECORD, JoinedPrediction, StreamConsistencyReport
from stream_runtime.topic_reader import partitions_of, read_to_end, reader
from training.reference import DRIFT_FEATURES, SCORE, score_bin

log = logging.getLogger("monitor")
Progress = Callable[[str], None]


def gather(
    client: dict[str, Any],
    settings: MonitorSettings,
    topics: TopicSettings,
    timeout_s: float,
    progress: Progress = lambda _text: None,
) -> ReportInputs:
    control = ControlReader(client, topics.model_control, one_off=True)
    references = References(control, settings.model_uri, FleetReader(client, topics.model_fleet, one_off=True))
    try:
        references.start(timeout_s)
    finally:
        references.close()
    joined = [_joined(value) for value in _values(client, topics.joined, timeout_s, progress)]
    valid = [record for record in joined if record is not None]
    if len(valid) < len(joined):
        log.warning("%d records of %s are not joined predictions; left out", len(joined) - len(valid), topics.joined)
    flights = []
    for message in _messages(client, topics.input, timeout_s, progress):
        parsed = parse(message, {}, topics.input)
        if isinstance(parsed, FlightRow):  # invalid events were dead-lettered, not scored: no drift either
            flights.append((parsed.departure_s, parsed.values))
    consistency: dict[str, StreamConsistencyReport] = {}
    for value in _values(client, topics.model_metrics, timeout_s, progress):
        with contextlib.suppress(ValidationError):
            record = MODEL_METRICS_RECORD.validate_json(value or b"")
            if isinstance(record, StreamConsistencyReport):
                consistency[record.monitor] = record  # the newest of each instance
    models = model_rows(valid)
    profile = references.champion_profile
    scores = []
    if profile is not None:  # the champion's own scores, as the monitor's live drift watch bins them
        for message in _messages(client, topics.predictions, timeout_s, progress):
            prediction = parse(message, {topics.predictions: ModelRole.CHAMPION})
            if isinstance(prediction, Prediction) and prediction.version == references.champion:
                scores.append((prediction.departure_s, (score_bin(profile.score_edges, prediction.probability),)))
    return ReportInputs(
        generated_at=datetime.now(UTC),
        source=f"{client.get('bootstrap.servers')}: {topics.joined}, {topics.input}, {topics.predictions}, "
        f"{topics.model_metrics}",
        window=settings.window_events,
        drift_window=settings.drift_window_events,
        models=models,
        rolling={key: rolling(rows, settings.window_events) for key, rows in models.items()},
        gate={lineup: gate_over_time(sample) for lineup, sample in paired_samples(valid).items()},
        reliability={key: reliability(rows.probability, rows.delayed) for key, rows in models.items()},
        offline=references.offline,
        drift=drift_over_time(flights, DRIFT_FEATURES, profile.features, settings.drift_window_events)
        if profile is not None and flights
        else [],
        score_drift=drift_over_time(scores, (SCORE,), {SCORE: profile.score_reference()}, settings.drift_window_events)
        if profile is not None and scores
        else [],
        champion=references.champion,
        flights=len(flights),
        consistency=list(consistency.values()),
        estimated={key: estimates_over(rows, settings.window_events) for key, rows in models.items()},
    )


def _joined(value: bytes | None) -> JoinedPrediction | None:
    try:
        return JoinedPrediction.model_validate_json(value or b"")
    except ValidationError:
        return None


def _values(client: dict[str, Any], topic: str, timeout_s: float, progress: Progress) -> list[bytes | None]:
    return [message.value() for message in _messages(client, topic, timeout_s, progress)]


def _messages(client: dict[str, Any], topic: str, timeout_s: float, progress: Progress) -> list[Any]:
    consumer = reader(client, one_off=True)
    try:
        partitions = partitions_of(consumer, topic, timeout_s)
        if partitions is None:
            log.warning("topic %s does not exist (yet): nothing of it in the report", topic)
            return []
        return read_to_end(consumer, topic, partitions, timeout_s, lambda n: progress(f"reading {topic}: {n:,}"))
    finally:
        consumer.close()
