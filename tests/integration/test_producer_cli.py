"""`flightdelay-producer replay` and `watch` against the real broker, as a person would call them."""

from __future__ import annotations

import contextlib
import csv
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer
from typer.testing import CliRunner

from kafka_common.settings import TopicSettings
from local_stack.broker import free_port
from producer.cli import app
from producer.replay import dataset_events
from schemas import DelayPrediction, FlightEvent, SourcePosition
from tests.support.dataset import DATASET
from tests.support.kafka import end_offsets

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _count(bootstrap: str, topic: str, expected: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    keys: list[bytes] = []
    for _ in range(40):
        keys += [m.key() or b"" for m in consumer.consume(1000, timeout=0.5) if m.error() is None]
        if len(keys) >= expected:
            break
    keys += [m.key() or b"" for m in consumer.consume(1000, timeout=1) if m.error() is None]
    consumer.close()
    return keys


def test_replay_a_date_range(bootstrap: str, stream_topics: TopicSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPIC_INPUT", stream_topics.input)
    with DATASET.open(encoding="utf-8", newline="") as handle:
        expected = [r for r in csv.DictReader(handle) if "2017-07-01" <= r["Fecha-I"][:10] <= "2017-07-02"]
    result = CliRunner().invoke(
        app,
        [
            "replay",
            "--bootstrap",
            bootstrap,
            "--data",
            str(DATASET),
            "--from",
            "2017-07-01",
            "--to",
            "2017-07-02",
            "--rate",
            "2000",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"delivered {len(expected):,}, failed 0" in result.output
    keys = _count(bootstrap, stream_topics.input, len(expected))
    assert sorted(k.decode() for k in keys) == sorted(FlightEvent.model_validate(r).resolved_id() for r in expected)


def test_replay_with_outcomes_sends_each_flights_departure_after_it(
    bootstrap: str, stream_topics: TopicSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two days of flights on a clock 20,000x real time: about 9 s; every outcome keyed like its flight."""
    for name, value in stream_topics.environment().items():
        monkeypatch.setenv(name, value)
    with DATASET.open(encoding="utf-8", newline="") as handle:
        expected = [r for r in csv.DictReader(handle) if "2017-07-01" <= r["Fecha-I"][:10] <= "2017-07-02"]
    arguments = ["replay", "--bootstrap", bootstrap, "--data", str(DATASET), "--from", "2017-07-01", "--to"]
    result = CliRunner().invoke(app, [*arguments, "2017-07-02", "--with-outcomes", "--speed", "20000"])
    assert result.exit_code == 0, result.output
    assert f"delivered {2 * len(expected):,}, failed 0" in result.output
    ids = sorted(FlightEvent.model_validate(r).resolved_id() for r in expected)
    assert sorted(k.decode() for k in _count(bootstrap, stream_topics.input, len(expected))) == ids
    assert sorted(k.decode() for k in _count(bootstrap, stream_topics.outcomes, len(expected))) == ids
    refused = CliRunner().invoke(app, [*arguments, "2017-07-02", "--with-outcomes", "--rate", "100"])
    assert refused.exit_code == 2 and "--speed" in refused.output


def test_replay_without_a_broker_says_so() -> None:
    result = CliRunner().invoke(app, ["replay", "--limit", "1"], env={"KAFKA_BOOTSTRAP_SERVERS": ""})
    assert result.exit_code == 2
    assert "no broker" in result.output


def test_replay_to_an_unreachable_broker_says_so_before_sending() -> None:
    """As the other tools: a line naming the broker within --delivery-timeout, exit 1, nothing counted as sent."""
    args = ["replay", "--bootstrap", "127.0.0.1:1", "--data", str(DATASET), "--limit", "3", "--delivery-timeout", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[-1].startswith("cannot reach the broker at 127.0.0.1:1: "), result.output
    assert "delivered" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2017-13-01"], "'2017-13-01' is not a date as YYYY-MM-DD"),
        (["--from", "2017-07-02", "--to", "2017-07-01"], "--from 2017-07-02 is after --to 2017-07-01"),
        (["--data", "/tmp/nope.csv"], "/tmp/nope.csv is not a file"),
        (["--rate", "-5"], "greater than or equal to 0"),
        (["--limit", "-1"], "greater than or equal to 0"),
    ],
)
def test_replay_refuses_bad_options_with_a_message(args: list[str], message: str) -> None:
    base = ["replay", "--bootstrap", "127.0.0.1:1", "--data", str(DATASET)]
    result = CliRunner().invoke(app, [*base, *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [["--limit", "-1"], ["--idle", "-1"]])
def test_watch_refuses_a_negative_bound(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["watch", "--bootstrap", "127.0.0.1:1", *args])
    assert result.exit_code == 2 and "greater than or equal to 0" in result.output, result.output


def command(bootstrap: str, topics: TopicSettings, *args: str) -> subprocess.Popen[str]:
    """The producer CLI as a person starts it from a shell: its own process group, so Ctrl-C reaches it all."""
    return subprocess.Popen(
        [sys.executable, "-m", "producer", *args], text=True, cwd=ROOT,
        env={**os.environ, **topics.environment(), "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def ctrl_c(process: subprocess.Popen[str], timeout_s: float = 60) -> str:
    """What a terminal's Ctrl-C does: SIGINT to the foreground process group; then the output."""
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=timeout_s)
    return output


def assert_clean_interruption(process: subprocess.Popen[str], output: str) -> None:
    assert process.returncode == 130, output
    for noise in ("Traceback", "SystemError", "still in queue"):
        assert noise not in output, output
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # nothing of the command's process group is left running


def test_ctrl_c_on_replay_flushes_what_was_produced_and_counts_the_rest(
    bootstrap: str, stream_topics: TopicSettings
) -> None:
    total = 5000
    options = ("--data", str(DATASET), "--limit", str(total), "--rate", "100")
    process = command(bootstrap, stream_topics, "replay", *options)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(KafkaException):  # a topic just created may have no leader for a moment
            if end_offsets(bootstrap, stream_topics.input) >= 100:
                break
        time.sleep(0.2)
    assert process.poll() is None, "the replay must still be sending when Ctrl-C comes"
    output = ctrl_c(process)
    assert_clean_interruption(process, output)
    found = re.search(r"interrupted: delivered ([\d,]+), failed 0, not sent ([\d,]+)", output)
    assert found, output
    delivered, not_sent = (int(group.replace(",", "")) for group in found.groups())
    assert delivered >= 100 and delivered + not_sent == total, output
    keys = _count(bootstrap, stream_topics.input, delivered)
    first = [key for key, _ in dataset_events(DATASET, limit=delivered)]
    assert sorted(keys) == sorted(first), "the topic holds exactly the first events, each once"


def test_ctrl_c_on_watch_ends_it_with_what_it_read(bootstrap: str, stream_topics: TopicSettings) -> None:
    process = command(bootstrap, stream_topics, "watch", "--from-beginning")
    time.sleep(5)  # past start-up, waiting for predictions
    output = ctrl_c(process)
    assert_clean_interruption(process, output)
    assert "interrupted: 0 predictions read" in output


def test_ctrl_c_on_the_demo_stops_scorers_monitor_and_broker(bootstrap: str, run_models: Path) -> None:
    """Ctrl-C once the replay runs: the scorers and monitor (which get the SIGINT too) and the demo's own run stop,
    nothing of the process group is left."""
    options = ("--flights", "3000", "--data", str(DATASET), "--models", str(run_models))
    process = command(bootstrap, TopicSettings(), "demo", *options)
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 240
    for line in process.stdout:
        seen.append(line)
        if line.startswith("replaying") or time.monotonic() > deadline:
            break
    assert any(line.startswith("replaying") for line in seen), "".join(seen)
    time.sleep(3)
    output = "".join(seen) + ctrl_c(process)
    assert_clean_interruption(process, output)
    assert "interrupted: the scorers, the monitor and the broker were stopped" in output


def test_watch_prints_committed_predictions(
    bootstrap: str, stream_topics: TopicSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """And a record on the topic that is not a prediction is counted and named, not a traceback."""
    monkeypatch.setenv("TOPIC_PREDICTIONS", stream_topics.predictions)
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(stream_topics.predictions, key=b"LAN-0", value=b"not a prediction")
    now = datetime.now(UTC)
    for i in range(20):
        prediction = DelayPrediction(
            flight_id=f"LAN-{i}",
            delay_probability=0.05 * i,
            delayed=i > 2,
            threshold=0.2,
            model_version="v",
            top_contributions=[],
            unseen_categories=["destination"] if i == 4 else [],
            scheduled_departure=now,
            event_time=now,
            scored_at=now,
            source=SourcePosition(topic="in", partition=0, offset=i),
        )
        producer.produce(
            stream_topics.predictions, key=prediction.flight_id.encode(), value=prediction.model_dump_json().encode()
        )
    producer.flush(10)
    result = CliRunner().invoke(
        app, ["watch", "--bootstrap", bootstrap, "--limit", "20", "--from-beginning", "--idle", "20"]
    )
    assert result.exit_code == 0, result.output
    assert f"{stream_topics.predictions}: 20 predictions read, the latest 15 shown" in result.output
    # The summary on a line of its own after the table (rich ends a live display off a terminal without one).
    summary = result.output.splitlines()[-1]
    assert summary.startswith("20 predictions read; 1 record that is not a prediction skipped, the first at "), summary
    assert "offset 0: Invalid JSON" in summary, summary
    assert len(re.findall(r"LAN-\d+", result.output)) == 15 and "LAN-19" in result.output
    limited = CliRunner().invoke(
        app, ["watch", "--bootstrap", bootstrap, "--limit", "2", "--from-beginning", "--idle", "20"]
    )
    assert limited.exit_code == 0, limited.output
    assert "2 predictions read" in limited.output, "a batch holds them all: the limit must still hold"


def test_demo_refuses_a_file_for_its_models_and_a_missing_dataset_before_starting_anything(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    for args, message in (
        (["--models", str(tmp_path / "a-file")], "is a file: name a directory"),
        (["--data", str(tmp_path / "none.csv")], "no dataset at"),
    ):
        result = CliRunner().invoke(app, ["demo", *args])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, result.output


@pytest.mark.parametrize("option", ["--consumers", "--flights"])
def test_demo_refuses_zero_consumers_or_flights_before_starting_anything(option: str) -> None:
    result = CliRunner().invoke(app, ["demo", option, "0"])
    assert result.exit_code == 2
    assert "greater than or equal to 1" in result.output


def test_demo_facing_a_broker_that_does_not_answer_says_so_in_a_line(
    run_models: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A KAFKA_BOOTSTRAP_SERVERS that does not answer: the client's reports at most once in 5 s and one line that
    says so, exit 1; not librdkafka's own lines four times a second and a traceback once its request timed out."""
    monkeypatch.setattr("producer.demo.BROKER_WAIT_S", 3.0)
    nowhere = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", nowhere)
    result = CliRunner().invoke(app, ["demo", "--data", str(DATASET), "--models", str(run_models), "--flights", "10"])
    raw = capfd.readouterr().err
    assert result.exit_code == 1, (result.output, result.exception)
    assert result.output.splitlines()[-1].startswith(f"cannot reach the broker at {nowhere}: "), result.output
    assert "Traceback" not in result.output and "%3|" not in raw, raw
