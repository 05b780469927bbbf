"""The autopilot on the real broker: a monitor in mode `on` reads paired predictions whose quality the test
chooses, and the control topic shows what it did. A worse challenger is never promoted, a better one is, the
promoted champion that proves worse than the one it replaced is rolled back once, and after that nothing more
is promoted, however good the challenger looks, until a person writes a record."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import Producer

from kafka_common.model_control import ControlReader, latest_by_role, write_control
from kafka_common.settings import TopicSettings
from local_stack.processes import ScorerProcess
from schemas.model_control import ModelControl, ModelRef, ModelRole
from schemas.monitoring import MODEL_METRICS_RECORD, ModelComparisonReport, ModelMetricsRecord, ModelMetricsReport
from stream_runtime.topic_reader import read_topic
from tests.support.paired_stream import Record, paired_flights
from tests.support.polling import wait_until
from tests.support.training_cli import training
from training.manifest import file_sha256
from training.model_store import copy_as_version

pytestmark = pytest.mark.integration
GOOD, FAIR, POOR = 0.3, 1.0, 2.5  # noise on the true log-odds: the less, the better the version
FLIGHTS = 2_500


def versions(model_dir: Path, tmp_path: Path, names: list[str]) -> dict[str, ModelRef]:
    staged = tmp_path / "models" / model_dir.name
    staged.parent.mkdir()
    staged.symlink_to(model_dir, target_is_directory=True)
    refs = {}
    for name in names:
        folder = copy_as_version(staged, name)
        refs[name] = ModelRef(version=name, uri=str(folder), manifest_sha256=file_sha256(folder / "manifest.json"))
    return refs


def by_person(bootstrap: str, topic: str, role: ModelRole, ref: ModelRef) -> None:
    record = ModelControl(role=role, model=ref, requested_at=datetime.now(UTC), requested_by="test@host")
    write_control({"bootstrap.servers": bootstrap}, topic, record)


def send(bootstrap: str, records: list[Record]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 20})
    for topic, key, value in records:
        producer.produce(topic, key=key, value=value)
        producer.poll(0)
    assert producer.flush(30) == 0


def lineup(bootstrap: str, topic: str) -> dict[ModelRole, ModelControl]:
    reader = ControlReader({"bootstrap.servers": bootstrap}, topic)
    try:
        return latest_by_role(reader.read_to_end(10))
    finally:
        reader.close()


def metrics_records(bootstrap: str, topic: str) -> list[ModelMetricsRecord]:
    """The metrics topic as of now: read to its end, since the monitor adds a report every second and a read that
    waits for a quiet moment would wait for its bound."""
    messages = read_topic({"bootstrap.servers": bootstrap}, topic, 30) or []
    return [MODEL_METRICS_RECORD.validate_json(m.value() or b"") for m in messages]


def comparisons(bootstrap: str, topic: str) -> list[ModelComparisonReport]:
    return [record for record in metrics_records(bootstrap, topic) if isinstance(record, ModelComparisonReport)]


def served(bootstrap: str, topic: str) -> tuple[str | None, str | None]:
    current = lineup(bootstrap, topic)
    return tuple(  # type: ignore[return-value]
        record.model.version if (record := current.get(role)) and record.model else None for role in ModelRole
    )


def test_the_autopilot_promotes_the_better_rolls_back_once_and_then_stops(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    topics, control = stream_topics, stream_topics.model_control
    refs = versions(model_dir, tmp_path, ["v-a", "v-b", "v-c"])
    by_person(bootstrap, control, ModelRole.CHAMPION, refs["v-a"])
    by_person(bootstrap, control, ModelRole.CHALLENGER, refs["v-b"])
    env = {**topics.environment(), "MONITOR_GROUP_ID": f"monitor-{topics.input}", "MONITOR_REPORT_INTERVAL_S": "1",
           "MONITOR_AUTOPILOT": "on", "MONITOR_AUTOPILOT_MIN_FLIGHTS": "500", "MONITOR_LOG_LEVEL": "INFO"}  # fmt: skip
    monitor = ScorerProcess(bootstrap, "-", tmp_path / "monitor.log", None, env, module="monitor").start()

    def until(what: str, check: Callable[[], bool]) -> None:
        wait_until(what, check, 90, every_s=1, seen=monitor.log_tail)

    try:
        monitor.wait_ready()
        # 1. A worse challenger: compared on every flight, never promoted.
        send(bootstrap, paired_flights(topics, "worse", ("v-a", FAIR), ("v-b", POOR), FLIGHTS, seed=1))
        until(
            "the worse challenger compared on every flight",
            lambda: any(
                c.flights == FLIGHTS and c.challenger_version == "v-b"
                for c in comparisons(bootstrap, topics.model_metrics)
            ),
        )
        assert served(bootstrap, control) == ("v-a", "v-b"), "a worse challenger is never promoted"
        worse = [c for c in comparisons(bootstrap, topics.model_metrics) if c.challenger_version == "v-b"][-1]
        assert worse.roc_auc is not None and worse.roc_auc.verdict == "worse"
        assert worse.autopilot is not None and worse.autopilot.action == "none" and not worse.autopilot.acting

        # 2. A better challenger, by a person: promoted, the champion it replaced scored in shadow.
        by_person(bootstrap, control, ModelRole.CHALLENGER, refs["v-c"])
        v_b_replaced = datetime.now(UTC)
        time.sleep(2)  # the monitor reads the new lineup before its flights arrive
        send(bootstrap, paired_flights(topics, "better", ("v-a", FAIR), ("v-c", GOOD), FLIGHTS, seed=2))
        until("the better challenger promoted", lambda: served(bootstrap, control) == ("v-c", "v-a"))
        promoted = lineup(bootstrap, control)[ModelRole.CHAMPION]
        assert promoted.requested_by == "monitor-autopilot" and promoted.autopilot is not None
        assert promoted.autopilot.action == "promote" and promoted.replaces == refs["v-a"]
        assert promoted.autopilot.roc_auc_low > 0 and promoted.autopilot.flights >= 500
        assert promoted.model == refs["v-c"], "the same verified reference a person's promotion writes"

        # 3. On the next flights the promoted champion proves worse than the one it replaced: rolled back.
        time.sleep(2)
        send(bootstrap, paired_flights(topics, "regret", ("v-c", POOR), ("v-a", FAIR), FLIGHTS, seed=3))
        until("the promotion rolled back", lambda: served(bootstrap, control) == ("v-a", "v-c"))
        rolled = lineup(bootstrap, control)[ModelRole.CHAMPION]
        assert rolled.autopilot is not None and rolled.autopilot.action == "rollback"
        assert rolled.replaces == refs["v-c"]

        # 4. Stopped: the shadowed v-c looks better still (this lineup's pairs began in step 2), and nothing is
        # promoted.
        time.sleep(2)
        send(bootstrap, paired_flights(topics, "again", ("v-a", FAIR), ("v-c", GOOD), FLIGHTS, seed=4))
        until(
            "the stopped autopilot's verdict on the last flights",
            lambda: any(
                c.champion_version == "v-a" and c.challenger_version == "v-c" and c.flights >= 2 * FLIGHTS
                for c in comparisons(bootstrap, topics.model_metrics)
            ),
        )
        time.sleep(3)
        last = [c for c in comparisons(bootstrap, topics.model_metrics) if c.challenger_version == "v-c"][-1]
        assert last.roc_auc is not None and last.roc_auc.verdict == "better"
        assert last.autopilot is not None and last.autopilot.reason.startswith("stopped after rolling back")
        assert served(bootstrap, control) == ("v-a", "v-c"), "no flapping: one rollback, then a person decides"
        assert monitor.metric("flightdelay_monitor_autopilot_stopped") == 1
        written = monitor.metric('flightdelay_monitor_autopilot_writes_total{result="written"}')
        assert written == 2, "one promotion, one rollback"
        code, output = training(bootstrap, topics, "models", "--models", str(tmp_path / "models"))
        assert code == 0, output
        current = next(line for line in output.splitlines() if line.startswith("gate (the current lineup)"))
        assert "challenger v-c against champion v-a on" in current and "]: better;" in current, output
        assert "autopilot (on): none, stopped after rolling back to v-a" in current, output
        assert "challenger v-b against champion v-a" in output and "]: worse;" in output, "past lineups too"

        # A replaced version's figures and a past lineup's comparison, frozen since, are not reported again
        # (the monitor reads the new lineup within a second or two).
        settled = v_b_replaced + timedelta(seconds=5)
        after = [record for record in metrics_records(bootstrap, topics.model_metrics) if record.reported_at > settled]
        of_v_b = [
            record
            for record in after
            if (isinstance(record, ModelMetricsReport) and (record.role, record.model_version) == ("challenger", "v-b"))
            or (isinstance(record, ModelComparisonReport) and record.challenger_version == "v-b")
        ]
        assert not of_v_b, f"{len(of_v_b)} copies of v-b's last figures in {len(after)} records"
        assert any(isinstance(record, ModelMetricsReport) for record in after), "the served versions' go on"
    finally:
        monitor.kill()
