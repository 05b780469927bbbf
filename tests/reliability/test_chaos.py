"""Crashes, rebalances and broker loss on the real broker: exactly-once holds and the stalls are measured."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from kafka_common.settings import TopicSettings
from kafka_common.topics import ensure_topics, topic_specs
from local_stack.broker import LocalKafkaBroker
from local_stack.processes import ScorerProcess
from producer.replay import dataset_events, publish
from schemas import FlightEvent
from tests.support.dataset import DATASET
from tests.support.polling import wait_until
from tests.support.recorder import OutputRecorder
from tests.support.streaming import monitor_process, scorer_env
from training.artifact import LoadedModel
from training.features import records_to_frame

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

BAD_PAYLOADS = [
    b"not json",
    b"\xff\xfe\x00",
    b"[]",
    b"",
    orjson.dumps(
        {
            "Fecha-I": "2017-13-01 10:00:00",
            "OPERA": "Sky Airline",
            "Emp-I": "SKU",
            "Vlo-I": "1",
            "TIPOVUELO": "N",
            "Des-I": "SCFA",
        }
    ),
    orjson.dumps(
        {
            "Fecha-I": "2017-01-01 10:00:00",
            "OPERA": "Nowhere Air",
            "Emp-I": "NWA",
            "Vlo-I": "1",
            "TIPOVUELO": "N",
            "Des-I": "SCFA",
        }
    ),
]
Events = list[tuple[bytes, bytes]]


def mixed_stream(valid: int, invalid: int, seed: int = 7) -> Events:
    """`valid` dataset events (re-keyed on the second pass over the file) with `invalid` bad ones mixed in."""
    base = list(dataset_events(DATASET))
    events: Events = []
    for index, (key, value) in enumerate(islice(cycle(base), valid)):
        if index >= len(base):  # a second pass: new flight ids, so keys stay unique
            body = orjson.loads(value)
            body["flight_id"] = f"{body['flight_id']}-r{index // len(base)}"
            key, value = body["flight_id"].encode(), orjson.dumps(body)
        events.append((key, value))
    rng = random.Random(seed)
    for number, payload in enumerate(islice(cycle(BAD_PAYLOADS), invalid)):
        events.insert(rng.randrange(len(events) + 1), (f"bad-{number}".encode(), payload))
    return events


@pytest.fixture
def chaos_topics(admin: AdminClient) -> Iterator[TopicSettings]:
    suffix = f"chaos-{time.monotonic_ns() % 10**9}"
    topics = TopicSettings.unique(suffix)
    ensure_topics(admin, topic_specs(topics))
    yield topics
    for future in admin.delete_topics(topics.names()).values():
        future.result()


def _send(config: dict[str, Any], topic: str, events: Events, rate: float = 0.0) -> None:
    report = publish(Producer({**config, "enable.idempotence": True, "linger.ms": 5}), topic, events, rate)
    assert report.failed == 0, report.first_error


def _assert_exact(recorder: OutputRecorder, stream: Events, model: LoadedModel) -> dict[str, int]:
    """Every input key came out exactly once, as a prediction (valid) or a dead letter (invalid), and every
    prediction carries the probability the model gives that event offline."""
    recorder.settle()
    predicted, dead, probabilities = recorder.by_key()
    valid = Counter(key for key, _ in stream if not key.startswith(b"bad-"))
    invalid = Counter(key for key, _ in stream if key.startswith(b"bad-"))
    outputs, inputs = predicted + dead, valid + invalid
    lost, duplicated = sum((inputs - outputs).values()), sum((outputs - inputs).values())
    assert (lost, duplicated) == (0, 0), f"lost {lost}, duplicated {duplicated}"
    assert predicted == valid and dead == invalid, "a valid event dead-lettered, or an invalid one predicted"
    expected = _offline_probabilities(stream, model)
    wrong = [key for key, seen in probabilities.items() if sorted(seen) != sorted(expected[key])]
    assert not wrong, f"{len(wrong)} predictions differ from the model's, e.g. {wrong[:3]}"
    return {"lost": lost, "duplicated": duplicated}


def _offline_probabilities(stream: Events, model: LoadedModel) -> dict[bytes, list[float]]:
    """The pipeline's own probabilities for the valid events of the stream (the reference path), by key: a few
    dataset rows share a flight id, so a key may have more than one event."""
    valid = [(key, FlightEvent.model_validate_json(value)) for key, value in stream if not key.startswith(b"bad-")]
    frame = records_to_frame(event.model_record() for _, event in valid)
    expected: dict[bytes, list[float]] = {}
    for (key, _), probability in zip(valid, model.pipeline.predict_proba(frame)[:, 1].tolist(), strict=True):
        expected.setdefault(key, []).append(probability)
    return expected


def _assigned_partitions(process: ScorerProcess) -> set[int]:
    """The partitions of the instance's last assignment, from its JSON log."""
    lines = [line for line in process.log_path.read_text().splitlines() if '"message": "assigned"' in line]
    return {p for found in orjson.loads(lines[-1])["partitions"].values() for p in found} if lines else set()


def test_five_sigkills_and_restarts_lose_and_duplicate_nothing(
    bootstrap: str,
    model_dir: Path,
    model: LoadedModel,
    chaos_topics: TopicSettings,
    tmp_path: Path,
    figures: dict[str, Any],
) -> None:
    valid, invalid = 90_000, 10_000
    stream = mixed_stream(valid, invalid)
    _send({"bootstrap.servers": bootstrap}, chaos_topics.input, stream)
    recorder = OutputRecorder({"bootstrap.servers": bootstrap}, chaos_topics)
    env = scorer_env(chaos_topics, SCORER_BATCH_SIZE="250")
    # One kill in each fifth of the stream (early to late), at a random point of it.
    rng = random.Random(11)
    kill_points = [rng.randrange(5_000 + 18_000 * i, 5_000 + 18_000 * (i + 1)) for i in range(5)]
    kills: list[float] = []
    missing_at_kill: list[int] = []
    try:
        for number, point in enumerate([*kill_points, None]):
            process = ScorerProcess(bootstrap, model_dir, tmp_path / f"run-{number}.log", "crashy", env).start()
            process.wait_ready()
            if point is None:
                recorder.wait_for(valid + invalid, 180)
                assert process.stop() == 0
                break
            recorder.wait_for(point, 180)
            assert process.process is not None and process.process.poll() is None, "the kill must find it alive"
            missing_at_kill.append(valid + invalid - recorder.count())
            process.kill()
            kills.append(time.monotonic())
        # Delivered where it hurts: a live scorer with outputs still to write (the reader lags the scorer by a
        # batch or two at most, far less than this).
        assert all(missing >= 2_000 for missing in missing_at_kill), missing_at_kill
        stalls = [recorder.longest_gap(moment - 1, moment + 60) for moment in kills]
        figures["crash_single"] = {
            "events": valid + invalid,
            "valid": valid,
            "invalid": invalid,
            "kills": len(kills),
            "outputs_missing_at_each_kill": missing_at_kill,
            **_assert_exact(recorder, stream, model),
            "stall_s_max": round(max(stalls), 2),
            "stall_s_mean": round(sum(stalls) / len(stalls), 2),
        }
    finally:
        recorder.close()


def test_one_of_three_consumers_killed(
    bootstrap: str,
    model_dir: Path,
    model: LoadedModel,
    chaos_topics: TopicSettings,
    tmp_path: Path,
    figures: dict[str, Any],
) -> None:
    valid, invalid = 54_000, 6_000
    stream = mixed_stream(valid, invalid, seed=3)
    _send({"bootstrap.servers": bootstrap}, chaos_topics.input, stream)
    recorder = OutputRecorder({"bootstrap.servers": bootstrap}, chaos_topics)
    env = scorer_env(chaos_topics, SCORER_BATCH_SIZE="250")
    group = [ScorerProcess(bootstrap, model_dir, tmp_path / f"{name}.log", name, env).start() for name in "abc"]
    try:
        for process in group:
            process.wait_ready()
        recorder.wait_for(15_000, 120)
        victim = group[1]
        orphaned = _assigned_partitions(victim)
        victim.kill()
        killed_at = time.monotonic()
        recorder.wait_for(valid + invalid, 180)
        stall = recorder.longest_gap(killed_at - 1, killed_at + 90, orphaned)
        codes = [group[0].stop(), group[2].stop()]
        assert codes == [0, 0]
        figures["crash_one_of_three"] = {
            "events": valid + invalid,
            "consumers": 3,
            "kills": 1,
            **_assert_exact(recorder, stream, model),
            "orphaned_partitions": sorted(orphaned),
            "stall_s_orphaned_partitions": round(stall, 2),
        }
    finally:
        for process in group:
            process.kill()
        recorder.close()


def test_scaling_one_to_three_to_one_mid_stream(
    bootstrap: str,
    model_dir: Path,
    model: LoadedModel,
    chaos_topics: TopicSettings,
    tmp_path: Path,
    figures: dict[str, Any],
) -> None:
    valid, invalid = 45_000, 5_000
    stream = mixed_stream(valid, invalid, seed=5)
    recorder = OutputRecorder({"bootstrap.servers": bootstrap}, chaos_topics)
    env = scorer_env(chaos_topics, SCORER_BATCH_SIZE="250")
    sender = threading.Thread(target=_send, args=({"bootstrap.servers": bootstrap}, chaos_topics.input, stream, 2_500))
    first = ScorerProcess(bootstrap, model_dir, tmp_path / "first.log", "first", env).start()
    extra = [ScorerProcess(bootstrap, model_dir, tmp_path / f"extra-{i}.log", f"extra-{i}", env) for i in range(2)]
    try:
        first.wait_ready()
        sender.start()
        recorder.wait_for(8_000, 120)
        for process in extra:
            process.start()
        for process in extra:  # ready means partitions assigned: the group is three now
            process.wait_ready(90)
        # The three score together while the stream goes on.
        recorder.wait_for(min(recorder.count() + 2_000, valid + invalid), 120)
        consumed_by_extras = [process.metric("flightdelay_events_consumed_total") for process in extra]
        assert all(consumed > 0 for consumed in consumed_by_extras), (
            f"an added scorer scored nothing: {consumed_by_extras}"
        )
        missing_at_scale_in = valid + invalid - recorder.count()
        assert sender.is_alive() and missing_at_scale_in > 0, "the scale-in must happen while events still arrive"
        assert all(process.stop() == 0 for process in extra), "scale-in must be clean"
        sender.join(120)
        recorder.wait_for(valid + invalid, 120)
        assert first.stop() == 0
        figures["rebalance_1_3_1"] = {
            "events": valid + invalid,
            "input_rate_eps": 2_500,
            "consumed_by_added_scorers": [int(consumed) for consumed in consumed_by_extras],
            "outputs_missing_at_scale_in": missing_at_scale_in,
            **_assert_exact(recorder, stream, model),
        }
    finally:
        for process in [first, *extra]:
            process.kill()
        recorder.close()


def _readiness(process: ScorerProcess) -> dict[str, bool]:
    _, body = process.get("/readyz")
    return dict(orjson.loads(body))


@pytest.mark.broker_loss
def test_broker_loss_and_return(model_dir: Path, model: LoadedModel, tmp_path: Path, figures: dict[str, Any]) -> None:
    """The broker goes away in the middle of the scorer's transactions and comes back.

    Where the stop lands decides the path: a produce that fails, an offsets call or a commit that times out.
    Each once hung the scorer (a commit resumed by abort, an offsets call past its timeout); the figures record
    which recovery ran. On a stall, the diagnostics tell a stuck scorer (scored count flat) from outputs that
    readers cannot see (a transaction left open on an output partition).
    """
    valid, invalid = 27_000, 3_000
    with LocalKafkaBroker() as broker:
        config = broker.client_config()
        topics = TopicSettings.unique("loss")
        ensure_topics(AdminClient(config), topic_specs(topics))
        stream = mixed_stream(valid, invalid, seed=9)
        _send(config, topics.input, stream)
        recorder = OutputRecorder(config, topics)
        env = scorer_env(topics, SCORER_BATCH_SIZE="250")
        process = ScorerProcess(broker.bootstrap_servers, model_dir, tmp_path / "loss.log", "loss", env).start()
        try:
            process.wait_ready()
            recorder.wait_for(8_000, 120)
            missing_at_stop = valid + invalid - recorder.count()
            broker.stop()
            stopped_at = time.monotonic()
            assert missing_at_stop >= 2_000, "the broker must go away while outputs are still to come"
            deadline = stopped_at + 30
            while _readiness(process)["broker_reachable"] and time.monotonic() < deadline:
                time.sleep(0.1)
            not_ready_after = time.monotonic() - stopped_at
            assert not _readiness(process)["broker_reachable"], "readiness still claims a reachable broker"
            assert process.get("/readyz")[0] == 503
            assert process.get("/healthz")[0] == 200
            time.sleep(5)
            assert process.process is not None and process.process.poll() is None, process.log_tail()
            broker.start()
            restarted_at = time.monotonic()
            process.wait_ready(60)
            try:
                recorder.wait_for(valid + invalid, 180)
            except TimeoutError:
                scored = process.metric("flightdelay_events_scored_total")
                dead = sum(s.value for s in process.samples("flightdelay_events_dead_lettered_total"))
                probe = Consumer({**config, "group.id": "diagnostics"})
                high = {
                    tp: probe.get_watermark_offsets(TopicPartition(topics.predictions, tp), timeout=5)[1]
                    for tp in range(6)
                }
                probe.close()
                print(
                    f"diagnostics: scorer scored {scored} (dead-lettered {dead:.0f}); reader saw {recorder.count()}; "
                    f"prediction high watermarks (records + markers) {high}\n{process.log_tail(80)}"
                )
                raise
            resumed_after = (recorder.first_after(restarted_at) or time.monotonic()) - restarted_at
            aborted = process.metric("flightdelay_transactions_aborted_total")
            replaced = process.metric("flightdelay_producer_restarts_total")
            assert process.stop() == 0
            figures["broker_loss"] = {
                "events": valid + invalid,
                "broker_down_s": round(restarted_at - stopped_at, 1),
                "outputs_missing_at_stop": missing_at_stop,
                "not_ready_after_s": round(not_ready_after, 2),
                "outputs_resumed_after_restart_s": round(resumed_after, 2),
                "transactions_aborted": int(aborted),
                "producers_replaced": int(replaced),
                "consumer_exit_code": 0,
                **_assert_exact(recorder, stream, model),
            }
        finally:
            process.kill()
            recorder.close()


@pytest.mark.broker_loss
def test_the_monitor_is_not_ready_while_the_broker_is_away_and_ready_after(tmp_path: Path) -> None:
    """The monitor reads the broker's state as the scorer does: the broker is the reason it is not ready."""
    with LocalKafkaBroker() as broker:
        topics = TopicSettings.unique("monitor-loss")
        ensure_topics(AdminClient(broker.client_config()), topic_specs(topics))
        monitor = monitor_process(broker.bootstrap_servers, topics, tmp_path / "monitor.log")
        try:
            monitor.wait_ready()
            broker.stop()
            wait_until(
                "readiness saying the broker is unreachable",
                lambda: not _readiness(monitor)["broker_reachable"],
                30,
                every_s=0.1,
                seen=monitor.log_tail,
            )
            assert monitor.get("/readyz")[0] == 503
            assert monitor.get("/healthz")[0] == 200, "alive: it waits for the broker"
            broker.start()
            monitor.wait_ready(90)
            assert _readiness(monitor) == {"partitions_assigned": True, "broker_reachable": True}
            assert monitor.stop() == 0
        finally:
            monitor.kill()


@pytest.mark.broker_loss
def test_frozen_broker_and_thaw(model_dir: Path, model: LoadedModel, tmp_path: Path, figures: dict[str, Any]) -> None:
    """The broker freezes (SIGSTOP) for longer than the transaction timeout, with connections still open.

    Unlike a stopped broker, nothing is refused: the scorer's calls time out in the middle of a transaction,
    and the transaction outlives its timeout, so on the thaw the coordinator aborts it. Which call times out
    depends on the moment (seen: the offsets call, then a replaced producer; a failed produce, then an abort).
    The figures record which recovery ran; the outputs stay exact.
    """
    valid, invalid = 27_000, 3_000
    with LocalKafkaBroker() as broker:
        config = broker.client_config()
        topics = TopicSettings.unique("freeze")
        ensure_topics(AdminClient(config), topic_specs(topics))
        stream = mixed_stream(valid, invalid, seed=11)
        _send(config, topics.input, stream)
        recorder = OutputRecorder(config, topics)
        env = scorer_env(topics, SCORER_BATCH_SIZE="250")
        process = ScorerProcess(broker.bootstrap_servers, model_dir, tmp_path / "freeze.log", "freeze", env).start()
        try:
            process.wait_ready()
            recorder.wait_for(5_000, 120)
            missing_at_freeze = valid + invalid - recorder.count()
            broker.freeze()
            frozen_at = time.monotonic()
            assert missing_at_freeze >= 2_000, "the broker must freeze while outputs are still to come"
            deadline = frozen_at + 30
            while _readiness(process)["broker_reachable"] and time.monotonic() < deadline:
                time.sleep(0.1)
            not_ready_after = time.monotonic() - frozen_at
            assert process.get("/readyz")[0] == 503, "readiness still claims a reachable broker"
            time.sleep(max(8 - not_ready_after, 0))
            assert process.process is not None and process.process.poll() is None, process.log_tail()
            broker.thaw()
            thawed_at = time.monotonic()
            recorder.wait_for(valid + invalid, 180)
            resumed_after = (recorder.first_after(thawed_at) or time.monotonic()) - thawed_at
            aborted = process.metric("flightdelay_transactions_aborted_total")
            replaced = process.metric("flightdelay_producer_restarts_total")
            commits_resumed = process.metric('flightdelay_kafka_call_retries_total{call="commit"}')
            assert process.stop() == 0
            figures["broker_frozen"] = {
                "events": valid + invalid,
                "broker_frozen_s": round(thawed_at - frozen_at, 1),
                "outputs_missing_at_freeze": missing_at_freeze,
                "not_ready_after_s": round(not_ready_after, 2),
                "outputs_resumed_after_thaw_s": round(resumed_after, 2),
                "commit_calls_resumed": int(commits_resumed),
                "transactions_aborted": int(aborted),
                "producers_replaced": int(replaced),
                "consumer_exit_code": 0,
                **_assert_exact(recorder, stream, model),
            }
        finally:
            process.kill()
            recorder.close()
