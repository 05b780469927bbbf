"""The scorer on the real broker: exact outputs, dead letters with reasons, groups, crashes, fail-closed."""

from __future__ import annotations

import base64
import json
import re
import shutil
import signal
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from kafka_common.settings import TopicSettings
from local_stack.processes import ScorerProcess
from producer.replay import dataset_events, publish
from tests.support.dataset import DATASET
from tests.support.polling import wait_until
from tests.support.records import VALID_EVENT
from tests.support.streaming import dataset_rows, read_outputs, scorer_env, scorers, send, send_dataset
from training.artifact import LoadedModel
from training.features import records_to_frame

pytestmark = pytest.mark.integration


def test_ten_thousand_events_give_exactly_the_offline_predictions(
    bootstrap: str, model_dir: Path, model: LoadedModel, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    with scorers(bootstrap, model_dir, stream_topics, tmp_path) as (scorer,):
        assert scorer.get("/healthz")[0] == 200
        status, body = scorer.get("/readyz")
        assert status == 200
        assert orjson.loads(body) == {"model_loaded": True, "partitions_assigned": True, "broker_reachable": True}
        sent = send_dataset(bootstrap, stream_topics.input, 10_000)
        predictions, letters = read_outputs(bootstrap, stream_topics, 10_000)
        metrics = scorer.get("/metrics")[1].decode()
    assert letters == []
    assert len(predictions) == 10_000
    assert len({(p.source.partition, p.source.offset) for p in predictions}) == 10_000, "duplicates"
    assert Counter(p.flight_id for p in predictions) == Counter(key.decode() for key, _ in sent)
    offline = model.pipeline.predict_proba(records_to_frame(dataset_rows(10_000)))[:, 1]
    expected = sorted(zip((key.decode() for key, _ in sent), offline.tolist(), strict=True))
    assert sorted((p.flight_id, p.delay_probability) for p in predictions) == expected
    assert all(p.delayed == (p.delay_probability >= model.threshold) for p in predictions)
    assert all(p.model_version == model.version and len(p.top_contributions) == 3 for p in predictions)
    assert "flightdelay_events_scored_total 10000.0" in metrics
    assert 'flightdelay_model_info{version="test-run"} 1.0' in metrics
    assert "flightdelay_end_to_end_latency_seconds_count 10000.0" in metrics


BASE = VALID_EVENT
INVALID: dict[str, tuple[bytes, str, str]] = {
    # name: (value, error kind, field error type)
    "unknown airline": (orjson.dumps({**BASE, "airline_name": "Nowhere Air"}), "invalid_event", "unknown_airline"),
    "flight type": (orjson.dumps({**BASE, "flight_type": "C"}), "invalid_event", "literal_error"),
    "month range": (orjson.dumps({**BASE, "month": 13}), "invalid_event", "less_than_equal"),
    "month mismatch": (orjson.dumps({**BASE, "month": 7}), "invalid_event", "month_mismatch"),
    "bad date": (
        orjson.dumps({**BASE, "scheduled_departure": "2017-02-30 10:00"}),
        "invalid_event",
        "datetime_from_date_parsing",
    ),
    "missing field": (orjson.dumps({k: v for k, v in BASE.items() if k != "destination"}), "invalid_event", "missing"),
    "not json": (b'{"scheduled_departure": ', "not_json", "not_json"),
    "not utf-8": (b'{"airline_name": "\xe9"}', "not_utf8", "not_utf8"),
    "oversized": (orjson.dumps({**BASE, "destination_city": "x" * 70_000}), "too_large", "too_large"),
    "empty": (b"", "empty", "empty"),
    "array": (b"[1,2,3]", "not_an_object", "not_an_object"),
}


def test_mixed_stream_dead_letters_every_invalid_event_with_its_reason(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    valid = list(dataset_events(DATASET, start=20_000, limit=2_000))
    unseen = (b"unseen-dest", orjson.dumps({**BASE, "destination": "ZZZZ", "flight_number": "77777"}))
    bad = [(f"bad-{name}-{i}".encode(), value) for name, (value, _, _) in INVALID.items() for i in range(20)]
    stream: list[tuple[bytes | None, bytes]] = []
    for index, event in enumerate(valid):
        stream.append(event)
        if index % 9 == 0 and bad:
            stream.append(bad.pop())
    stream += [*bad, unseen]
    with scorers(bootstrap, model_dir, stream_topics, tmp_path):
        producer = Producer({"bootstrap.servers": bootstrap})
        for key, value in stream:
            producer.produce(stream_topics.input, key=key, value=value, headers=[("trace", b"\x00\x01")])
        producer.produce(stream_topics.input, key=None, value=b"null key, not json")
        assert producer.flush(30) == 0
        predictions, letters = read_outputs(bootstrap, stream_topics, len(stream) + 1)
    assert len(predictions) == len(valid) + 1
    assert len(letters) == len(INVALID) * 20 + 1
    by_key = {base64.b64decode(d.key_base64 or "").decode() if d.key_base64 else None: d for d in letters}
    for name, (value, kind, error) in INVALID.items():
        for i in range(20):
            letter = by_key[f"bad-{name}-{i}"]
            assert letter.error_kind == kind, name
            assert error in {e.error for e in letter.errors}, (name, letter.errors)
            assert base64.b64decode(letter.value_base64 or "") == value, "original bytes changed"
            assert [(h.key, base64.b64decode(h.value_base64 or "")) for h in letter.headers] == [("trace", b"\x00\x01")]
            assert letter.consumer_group == f"group-{stream_topics.input}"
    assert by_key[None].error_kind == "not_json"
    flagged = [p for p in predictions if p.flight_id == "unseen-dest"]
    assert len(flagged) == 1
    assert flagged[0].unseen_categories == ["destination", "flight"]


def test_two_consumers_share_the_partitions_and_produce_each_prediction_once(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    with scorers(bootstrap, model_dir, stream_topics, tmp_path, count=2) as processes:
        send_dataset(bootstrap, stream_topics.input, 10_000, start=30_000)
        predictions, _ = read_outputs(bootstrap, stream_topics, 10_000)
        scored = [p.metric("flightdelay_events_scored_total") for p in processes]
    assert len(predictions) == 10_000
    assert len({(p.source.partition, p.source.offset) for p in predictions}) == 10_000
    assert all(count > 0 for count in scored), f"one consumer did nothing: {scored}"
    assert sum(scored) == 10_000


def test_two_scorers_started_by_hand_on_one_host_get_their_own_transactional_ids(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    """No SCORER_INSTANCE_ID, as the README's hand-run section starts them: neither fences the other."""
    env = scorer_env(stream_topics)
    processes = [ScorerProcess(bootstrap, model_dir, tmp_path / f"hand-{i}.log", None, env).start() for i in (1, 2)]
    try:
        for process in processes:
            process.wait_ready()
        sent = send_dataset(bootstrap, stream_topics.input, 6_000, start=10_000)
        predictions, letters = read_outputs(bootstrap, stream_topics, 6_000)
        scored = [p.metric("flightdelay_events_scored_total") for p in processes]
        assert all(p.process is not None and p.process.poll() is None for p in processes), "a scorer was fenced"
    finally:
        codes = [process.stop() for process in processes]
    ids = [re.search(r'"transactional_id": "([^"]+)"', p.log_path.read_text()) for p in processes]
    assert all(ids) and len({m.group(1) for m in ids if m}) == 2, ids
    assert codes == [0, 0]
    assert Counter(p.flight_id.encode() for p in predictions) == Counter(key for key, _ in sent)
    assert not letters
    assert all(count > 0 for count in scored), f"one scorer did nothing: {scored}"


def _lags(process: ScorerProcess, metric: str) -> dict[str, float]:
    """The metric's value by partition of the input (the scorer's only topic)."""
    return {sample.labels["partition"]: sample.value for sample in process.samples(metric)}


def _wait_for_lags(process: ScorerProcess, expected: dict[str, float], timeout_s: float = 20) -> None:
    """Both measures of the lag, records and seconds, reach `expected`."""
    metrics = ("flightdelay_consumer_lag", "flightdelay_consumer_lag_seconds")
    wait_until(
        f"both lags at {expected}",
        lambda: all(_lags(process, m) == expected for m in metrics),
        timeout_s,
        seen=lambda: f"{[_lags(process, m) for m in metrics]}\n{process.log_tail()}",
    )


def test_lag_is_the_records_left_to_score_in_exactly_once_mode_after_a_restart(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    """Offsets are committed through transactions, so librdkafka never learns them: the lag must not freeze."""
    all_caught_up = {str(p): 0.0 for p in range(6)}
    sent = send_dataset(bootstrap, stream_topics.input, 3_000, start=5_000)
    with scorers(bootstrap, model_dir, stream_topics, tmp_path) as [first]:
        read_outputs(bootstrap, stream_topics, 3_000)
        _wait_for_lags(first, all_caught_up)
    restart_logs = tmp_path / "restart"
    restart_logs.mkdir()
    with scorers(bootstrap, model_dir, stream_topics, restart_logs) as [second]:
        _wait_for_lags(second, all_caught_up)  # nothing new: zero at once, not the committed offsets read at start
        sent += send_dataset(bootstrap, stream_topics.input, 1_200, start=8_000)
        predictions, _ = read_outputs(bootstrap, stream_topics, 4_200)
        _wait_for_lags(second, all_caught_up)
    assert Counter(p.flight_id.encode() for p in predictions) == Counter(key for key, _ in sent)


def test_no_broker_at_start_is_one_exit_line_not_a_flood_of_warnings(
    model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    """librdkafka reports the refused connection many times a second; the log says so a few times."""
    env = scorer_env(stream_topics, SCORER_STARTUP_TIMEOUT_S="5")
    process = ScorerProcess("127.0.0.1:1", model_dir, tmp_path / "nobroker.log", "nobroker", env).start()
    assert process.process is not None
    assert process.process.wait(60) == 1
    lines = process.log_path.read_text().splitlines()
    refused = [line for line in lines if "Connection refused" in line]
    assert 0 < len(refused) <= 12, f"{len(refused)} connection warnings in 5 s"
    assert any("no broker answered within 5 s" in line for line in lines)
    waiting = [json.loads(line) for line in lines if "waiting for the broker" in line]
    assert len(waiting) == 1 and waiting[0]["bootstrap_servers"] == "127.0.0.1:1", lines
    assert waiting[0]["message"] == "scorer waiting for the broker (at most 5 s)", waiting
    assert "Traceback" not in "\n".join(lines)


def test_sigterm_while_waiting_for_the_broker_is_a_clean_stop(
    model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    """ECS stops a task that never reached its broker: exit 0 and a stopped line, not the shutdown watchdog's
    exit 4 after the transactional producer and the group were started against a broker that is not there."""
    env = scorer_env(stream_topics, SCORER_STARTUP_TIMEOUT_S="120")
    process = ScorerProcess("127.0.0.1:1", model_dir, tmp_path / "term.log", "term", env).start()
    assert process.process is not None
    try:
        wait_until("the scorer waits", lambda: "waiting for the broker" in process.log_path.read_text(), 60)
        process.process.send_signal(signal.SIGTERM)
        code = process.process.wait(60)
    finally:
        process.kill()
    lines = process.log_path.read_text().splitlines()
    assert code == 0, lines[-5:]
    stopped = [json.loads(line) for line in lines if '"scorer stopped"' in line]
    assert [line["exit_code"] for line in stopped] == [0], lines[-5:]
    assert not [line for line in lines if "shutdown took longer" in line], lines[-5:]


def test_a_taken_http_port_is_a_one_line_configuration_error(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # where the scorer binds
        taken.listen()
        port = taken.getsockname()[1]
        env = scorer_env(stream_topics, SCORER_HTTP_PORT=str(port))
        process = ScorerProcess(bootstrap, model_dir, tmp_path / "port.log", "port", env)
        process.env["SCORER_HTTP_PORT"] = str(port)
        process.start()
        assert process.process is not None
        assert process.process.wait(60) == 2
    log = process.log_path.read_text()
    assert f"cannot serve health and metrics on port {port} (SCORER_HTTP_PORT)" in log
    assert "Traceback" not in log


def _send_at_rate(bootstrap: str, topic: str, start: int, count: int, rate: float) -> threading.Thread:
    """Dataset events published at `rate` per second from a thread, so a fault can land while input flows."""
    events = list(dataset_events(DATASET, start=start, limit=count))
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    sender = threading.Thread(target=publish, args=(producer, topic, events, rate))
    sender.start()
    return sender


def test_sigkill_mid_stream_and_restart_loses_and_duplicates_nothing(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    env = scorer_env(stream_topics, SCORER_BATCH_SIZE="100")
    victim = ScorerProcess(bootstrap, model_dir, tmp_path / "victim.log", "crashy", env).start()
    victim.wait_ready()
    # Events keep arriving while the kill lands, so work is certainly left when it does.
    sender = _send_at_rate(bootstrap, stream_topics.input, start=40_000, count=20_000, rate=4_000)
    deadline = time.monotonic() + 60
    while victim.metric("flightdelay_events_scored_total") < 3_000 and time.monotonic() < deadline:
        time.sleep(0.02)
    killed_at = victim.metric("flightdelay_events_scored_total")
    victim.kill()
    assert sender.is_alive(), "the input was complete before the kill: no work was in flight"
    assert 0 < killed_at < 20_000, f"kill did not land mid-stream ({killed_at})"
    sender.join()
    # Same instance id: init_transactions fences the dead producer and aborts its open transaction at once.
    with scorers(bootstrap, model_dir, stream_topics, tmp_path, SCORER_INSTANCE_ID="crashy"):
        predictions, _ = read_outputs(bootstrap, stream_topics, 20_000)
    positions = Counter((p.source.partition, p.source.offset) for p in predictions)
    assert len(positions) == 20_000, f"lost {20_000 - len(positions)}"
    assert max(positions.values()) == 1, "duplicates seen by a read_committed reader"


def test_too_many_invalid_events_fail_closed(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    env = scorer_env(
        stream_topics,
        SCORER_MAX_INVALID_RATIO="0.5",
        SCORER_INVALID_WINDOW="300",
        SCORER_INVALID_MIN_EVENTS="100",
        SCORER_BATCH_SIZE="50",
    )
    process = ScorerProcess(bootstrap, model_dir, tmp_path / "closed.log", "closed", env).start()
    process.wait_ready()
    good = send_dataset(bootstrap, stream_topics.input, 200)
    send(bootstrap, stream_topics.input, [(b"junk", b"not json")] * 2_000)
    assert process.process is not None
    assert process.process.wait(60) == 3
    assert "failing closed" in process.log_tail()
    predictions, letters = read_outputs(bootstrap, stream_topics, len(good), idle_s=5)
    assert len(predictions) == len(good)
    assert len(letters) < 300, "the invalid records were drained into the dead-letter topic"
    # A restart meets the same burst and fails closed again; the message names the way through.
    again = ScorerProcess(bootstrap, model_dir, tmp_path / "again.log", "closed", env).start()
    assert again.process is not None
    assert again.process.wait(60) == 3
    assert "SCORER_INVALID_ALLOWANCE" in again.log_tail()
    # The documented way through: a one-off allowance dead-letters the burst, then scoring goes on.
    more = send_dataset(bootstrap, stream_topics.input, 300, start=1_000)
    with scorers(
        bootstrap,
        model_dir,
        stream_topics,
        tmp_path,
        SCORER_MAX_INVALID_RATIO="0.5",
        SCORER_INVALID_WINDOW="300",
        SCORER_INVALID_MIN_EVENTS="100",
        SCORER_BATCH_SIZE="50",
        SCORER_INVALID_ALLOWANCE="2500",
    ) as [resumed]:
        predictions, letters = read_outputs(bootstrap, stream_topics, len(good) + len(more) + 2_000)
        assert "under SCORER_INVALID_ALLOWANCE" in resumed.log_path.read_text()
    assert Counter(p.flight_id.encode() for p in predictions) == Counter(key for key, _ in good + more)
    positions = Counter((letter.source.partition, letter.source.offset) for letter in letters)
    assert (len(positions), max(positions.values())) == (2_000, 1), "each junk event dead-lettered exactly once"
    assert {letter.error_kind for letter in letters} == {"not_json"}


def test_a_long_run_of_invalid_events_fails_closed_even_under_the_ratio(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    env = scorer_env(
        stream_topics, SCORER_MAX_INVALID_RATIO="1.0", SCORER_MAX_CONSECUTIVE_INVALID="100", SCORER_BATCH_SIZE="50"
    )
    process = ScorerProcess(bootstrap, model_dir, tmp_path / "run.log", "run", env).start()
    process.wait_ready()
    good = send_dataset(bootstrap, stream_topics.input, 200, start=2_000)
    send(bootstrap, stream_topics.input, [(b"junk", b"not json")] * 1_000)
    assert process.process is not None
    assert process.process.wait(60) == 3
    assert "invalid events in a row, above the limit of 100" in process.log_tail()
    predictions, letters = read_outputs(bootstrap, stream_topics, len(good), idle_s=5)
    assert Counter(p.flight_id.encode() for p in predictions) == Counter(key for key, _ in good)
    assert len(letters) <= 150, "the run was drained into the dead-letter topic"


def test_at_least_once_mode_delivers_everything(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    with scorers(bootstrap, model_dir, stream_topics, tmp_path, SCORER_PROCESSING_GUARANTEE="at_least_once"):
        send_dataset(bootstrap, stream_topics.input, 5_000, start=50_000)
        predictions, _ = read_outputs(bootstrap, stream_topics, 5_000)
    assert len({(p.source.partition, p.source.offset) for p in predictions}) == 5_000


def test_refuses_to_start_with_a_tampered_model(bootstrap: str, model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / model_dir.name
    shutil.copytree(model_dir, copy)
    with (copy / "model.joblib").open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00\x00\x00")
    process = ScorerProcess(bootstrap, copy, tmp_path / "tampered.log", "tampered").start()
    assert process.process is not None
    assert process.process.wait(60) == 2
    assert "refusing to start" in process.log_tail() and "sha256" in process.log_tail()


def test_a_fenced_instance_exits_and_its_twin_finishes_exactly_once(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    """Two instances with one transactional id: the newer fences the older, which exits 1; nothing doubles."""
    env = scorer_env(stream_topics, SCORER_BATCH_SIZE="100")
    older = ScorerProcess(bootstrap, model_dir, tmp_path / "older.log", "twin", env).start()
    older.wait_ready()
    send_dataset(bootstrap, stream_topics.input, 3_000, start=60_000)
    deadline = time.monotonic() + 60
    while older.metric("flightdelay_events_scored_total") < 500 and time.monotonic() < deadline:
        time.sleep(0.02)
    with scorers(bootstrap, model_dir, stream_topics, tmp_path, SCORER_INSTANCE_ID="twin"):
        send_dataset(bootstrap, stream_topics.input, 3_000, start=63_000)
        assert older.process is not None
        assert older.process.wait(60) == 1, older.log_tail()
        predictions, _ = read_outputs(bootstrap, stream_topics, 6_000)
    log = older.log_path.read_text()
    # One clear line says why, and closing the fenced producer raises nothing (no traceback, no SystemError).
    assert "fenced by another live instance with our transactional id" in log
    assert "Traceback" not in log and "SystemError" not in log
    positions = Counter((p.source.partition, p.source.offset) for p in predictions)
    assert len(positions) == 6_000
    assert max(positions.values()) == 1


def test_sigterm_under_load_drains_commits_and_exits_zero(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    env = scorer_env(stream_topics, SCORER_BATCH_SIZE="100")
    first = ScorerProcess(bootstrap, model_dir, tmp_path / "first.log", "drain", env).start()
    first.wait_ready()
    sender = _send_at_rate(bootstrap, stream_topics.input, start=44_000, count=20_000, rate=4_000)
    deadline = time.monotonic() + 60
    while first.metric("flightdelay_events_scored_total") < 3_000 and time.monotonic() < deadline:
        time.sleep(0.02)
    stopping = time.monotonic()
    assert sender.is_alive(), "the input was complete before SIGTERM: no load to drain under"
    code = first.stop(timeout_s=30)
    took = time.monotonic() - stopping
    sender.join()
    assert code == 0, first.log_tail()
    assert took < 10, f"graceful stop took {took:.1f} s"
    assert "stopping: in-flight batch committed" in first.log_tail()
    last = orjson.loads(first.log_tail().strip().splitlines()[-1])
    assert (last["message"], last["exit_code"]) == ("scorer stopped", 0), "the last line says it stopped"
    assert last["records_committed"] >= 3_000 and last["batches_committed"] > 0, last
    with scorers(bootstrap, model_dir, stream_topics, tmp_path, SCORER_INSTANCE_ID="drain-2"):
        predictions, _ = read_outputs(bootstrap, stream_topics, 20_000)
    positions = Counter((p.source.partition, p.source.offset) for p in predictions)
    assert len(positions) == 20_000
    assert max(positions.values()) == 1
