"""The monitor on the real broker: predictions and shadow predictions joined with outcomes exactly once across a
SIGKILL and restart, and online figures equal to scikit-learn's on the joined rows."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from confluent_kafka import Producer
from sklearn.metrics import brier_score_loss, f1_score, recall_score, roc_auc_score

from kafka_common.model_control import write_control
from kafka_common.settings import TopicSettings
from local_stack.processes import ScorerProcess
from monitor.drift import assess, psi
from producer.reading import committed_reader, read_messages
from producer.replay import dataset_flights, publish_schedule, with_outcomes
from schemas.model_control import ModelControl, ModelRef, ModelRole
from schemas.monitoring import MODEL_METRICS_RECORD, JoinedPrediction, ModelMetricsReport
from tests.support.dataset import DATASET
from tests.support.polling import wait_until
from tests.support.promtool import promtool
from tests.support.streaming import scorers
from training.features import flight_features
from training.manifest import file_sha256
from training.model_store import copy_as_version, load_serving
from training.reference import DRIFT_FEATURES, drift_row, score_bin

pytestmark = pytest.mark.integration


def monitor(
    bootstrap: str, topics: TopicSettings, log: Path, instance: str | None = None, **extra: str
) -> ScorerProcess:
    env = {**topics.environment(), "MONITOR_GROUP_ID": f"monitor-{topics.input}", "MONITOR_REPORT_INTERVAL_S": "1",
           "MONITOR_LOG_LEVEL": "INFO", **extra}  # fmt: skip
    return ScorerProcess(bootstrap, "-", log, instance, env, module="monitor").start()


def challenger_on(bootstrap: str, topics: TopicSettings, model_dir: Path, tmp_path: Path) -> None:
    staged = tmp_path / "models" / model_dir.name
    staged.parent.mkdir()
    staged.symlink_to(model_dir, target_is_directory=True)
    version = copy_as_version(staged, "shadow-v")
    ref = ModelRef(version="shadow-v", uri=str(version), manifest_sha256=file_sha256(version / "manifest.json"))
    record = ModelControl(role=ModelRole.CHALLENGER, model=ref, requested_at=datetime.now(UTC), requested_by="test")
    write_control({"bootstrap.servers": bootstrap}, topics.model_control, record)


def read_all(bootstrap: str, topic: str, expected: int, max_wait_s: float = 120, idle_s: float = 20) -> list[bytes]:
    reader = committed_reader({"bootstrap.servers": bootstrap}, [topic])
    values: list[bytes] = []
    try:
        for message in read_messages(reader, lambda: len(values) >= expected, idle_s, max_wait_s):
            values.append(message.value() or b"")
        for message in read_messages(reader, lambda: False, 3, 3):  # a duplicate would come now
            values.append(message.value() or b"")
    finally:
        reader.close()
    return values


@pytest.mark.parametrize("stop", ["sigkill", "sigterm"])
def test_a_monitor_stopped_under_load_restarts_and_joins_each_pair_exactly_once(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path, stop: str
) -> None:
    """SIGKILL: the restart aborts what was left open and rebuilds; SIGTERM: the batch in flight is committed and
    the process exits 0. Either way each prediction is joined exactly once, by key."""
    challenger_on(bootstrap, stream_topics, model_dir, tmp_path)
    flights = list(dataset_flights(DATASET, start=10_000, limit=6_000))
    schedule = with_outcomes(flights, "canonical", (stream_topics.input, stream_topics.outcomes), 0, timedelta(hours=1))
    pace = 12.0 / len(schedule)  # 12,000 records over about 12 s
    schedule = [type(s)(i * pace, s.topic, s.key, s.value) for i, s in enumerate(schedule)]
    sender = threading.Thread(target=publish_schedule, args=(Producer({"bootstrap.servers": bootstrap}), schedule))
    with scorers(bootstrap, model_dir, stream_topics, tmp_path, SCORER_BATCH_SIZE="200"):
        # The restart keeps its instance id, as a supervisor restarts a task: it aborts what the killed one left open.
        first = monitor(bootstrap, stream_topics, tmp_path / "monitor-1.log", "m1", MONITOR_BATCH_SIZE="200")
        second: ScorerProcess | None = None
        try:
            first.wait_ready()
            sender.start()
            wait_until(
                "500 joins before the stop",
                lambda: first.metric('flightdelay_monitor_joined_total{role="champion",version="test-run"}') >= 500,
                30,
                every_s=0.2,
                seen=first.log_tail,
            )
            joined_before_kill = first.metric('flightdelay_monitor_joined_total{role="champion",version="test-run"}')
            if stop == "sigkill":
                first.kill()
            else:
                assert first.stop() == 0, first.log_tail()
            assert sender.is_alive(), "the stop must land while records still arrive"
            assert joined_before_kill < len(flights), "work was still in flight"
            second = monitor(bootstrap, stream_topics, tmp_path / "monitor-2.log", "m1", MONITOR_BATCH_SIZE="200")
            second.wait_ready()
            sender.join()
            values = read_all(bootstrap, stream_topics.joined, 2 * len(flights), idle_s=45)
            rebuilt = second.metric("flightdelay_monitor_rebuilt_records_total")
        finally:
            for process in (first, second):
                if process is not None:
                    process.kill()
    joined = [JoinedPrediction.model_validate_json(v) for v in values]
    expected = Counter((event.resolved_id(), role) for _, event in flights for role in ("champion", "challenger"))
    assert Counter((j.flight_id, j.role) for j in joined) == expected, "each prediction joined exactly once"
    assert {(j.role, j.model_version) for j in joined} == {("champion", "test-run"), ("challenger", "shadow-v")}
    assert all(j.delayed == (j.delay_minutes > 15) for j in joined)
    assert rebuilt > 0, "the restarted monitor rebuilt its state from the topics"


def test_online_figures_equal_scikit_learn_on_the_joined_rows(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    flights = list(dataset_flights(DATASET, start=30_000, limit=3_000))
    schedule = with_outcomes(flights, "canonical", (stream_topics.input, stream_topics.outcomes), 0, timedelta(hours=1))
    # No MONITOR_MODEL_URI and no control record: the monitor takes the champion the scorers report on the fleet
    # topic, whose profile the drift below is measured against.
    env = {"MONITOR_WINDOW_EVENTS": "100000", "MONITOR_WINDOW_HOURS": "1000000"}
    with scorers(bootstrap, model_dir, stream_topics, tmp_path) as running:
        process = monitor(bootstrap, stream_topics, tmp_path / "monitor.log", **env)
        try:
            process.wait_ready()
            report = publish_schedule(Producer({"bootstrap.servers": bootstrap}), schedule)
            assert report.failed == 0
            joined = [JoinedPrediction.model_validate_json(v) for v in read_all(bootstrap, stream_topics.joined, 3_000)]
            time.sleep(3)  # the next report covers every joined row
            # The topic also holds the estimates made while predictions waited for their outcomes.
            records = [
                MODEL_METRICS_RECORD.validate_json(v)
                for v in read_all(bootstrap, stream_topics.model_metrics, 10**6, 10)
            ]
            reports = [record for record in records if isinstance(record, ModelMetricsReport)]
            drift = {
                (name, figure): process.metric(f'flightdelay_monitor_{figure}{{name="{name}",version="test-run"}}')
                for name in ("airline", "month", "score")
                for figure in ("psi", "drifting", "drift_window_events")
            }
            # Every series a live scorer and monitor export, as Prometheus's own linter reads them.
            for live in (running[0], process):
                linted = promtool("check", "metrics", stdin=live.get("/metrics")[1])
                assert linted.returncode == 0, (linted.stdout + linted.stderr).decode()
        finally:
            process.kill()
    assert len(joined) == len(flights)
    final = [r for r in reports if r.window == "events" and r.events == len(joined)][-1]
    p = np.array([j.delay_probability for j in joined])
    y = np.array([j.delayed for j in joined])
    predicted = p >= joined[0].threshold
    assert final.roc_auc == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert final.recall == pytest.approx(recall_score(y, predicted), abs=1e-12)
    assert final.f1 == pytest.approx(f1_score(y, predicted), abs=1e-12)
    assert final.brier == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert final.actual_delayed_rate == pytest.approx(y.mean()) and final.pending == 0
    # Drift over the same flights, from what went in: their features by the training definitions, the model's
    # reference profile, the probabilities the scorer wrote.
    profile = load_serving(str(model_dir)).manifest.reference
    assert profile is not None
    rows = [drift_row(flight_features(e.local_departure, e.airline_name, e.flight_type, e.destination,
                                      e.airline_code, e.flight_number)) for _, e in flights]  # fmt: skip
    for position, name in ((DRIFT_FEATURES.index("airline"), "airline"), (DRIFT_FEATURES.index("month"), "month")):
        expected = assess(name, profile.features[name], Counter(row[position] for row in rows))
        assert drift[(name, "psi")] == pytest.approx(expected.psi, abs=1e-9)
        assert drift[(name, "drifting")] == expected.drifting
        assert drift[(name, "drift_window_events")] == len(flights)
    assert drift[("month", "drifting")] == 1, "two summer months against a whole year's months"
    scores = Counter(score_bin(profile.score_edges, j.delay_probability) for j in joined)
    assert drift[("score", "psi")] == pytest.approx(psi(profile.score_reference(), scores)[0], abs=1e-9)
