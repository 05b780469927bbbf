"""Stream features served on the real broker: two scorers, one SIGKILLed mid-stream and restarted, score a replayed
fortnight with its outcomes; every prediction equals, key by key, the training pipeline's probability on the
point-in-time backfill of the same flights (online equal to offline), and the monitor, recomputing them from what
it reads, finds every value equal. A departures feed lost mid-stream flags the predictions and raises the alert,
and scoring goes on; one whose producer stops raises its own."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
from confluent_kafka import KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from kafka_common.model_control import write_control
from kafka_common.settings import TopicSettings
from kafka_common.topics import ensure_topics, topic_specs
from local_stack.processes import ScorerProcess
from monitor.stream_consistency import UNCHECKED_REASONS
from producer.replay import dataset_flights, publish_schedule, with_outcomes
from schemas.model_control import ModelControl, ModelRef, ModelRole
from tests.support.dataset import DATASET
from tests.support.polling import wait_until
from tests.support.prometheus import prometheus
from tests.support.streaming import first_value, monitor_process, read_outputs, scorer_env, scorers
from training.artifact import load_artifact
from training.dataset import load_flights
from training.manifest import MANIFEST_FILE, file_sha256
from training.stream_backfill import DEFAULT_LEAD_MINUTES, with_stream_features
from training.stream_features import STREAM_FEATURE_NAMES, StreamState
from training.train import TrainingRun

FIRST_DAY, LAST_DAY = date(2017, 11, 1), date(2017, 11, 14)
BEHIND = "flightdelay_stream_events_behind_total"
AGE = "flightdelay_stream_newest_departure_age_seconds"
OUTCOME_AGE = "flightdelay_monitor_newest_outcome_age_seconds"
SMALL_BATCHES = {"SCORER_BATCH_SIZE": "100"}  # so that the SIGKILL lands mid-stream
# The stream features of a flight no outcome is known for, as a prediction carries them.
NOTHING_KNOWN = [None if np.isnan(v) else v for v in StreamState().features_at(0, "airline", "destination", "flight")]


def _scorer(bootstrap: str, model_dir: Path, topics: TopicSettings, log: Path, instance: str) -> ScorerProcess:
    env = scorer_env(topics, **SMALL_BATCHES)
    return ScorerProcess(bootstrap, model_dir, log, instance, env).start()


def test_online_stream_features_equal_offline_through_a_sigkill(
    bootstrap: str, stream_training_run: TrainingRun, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    flights = list(dataset_flights(DATASET, date_from=FIRST_DAY, date_to=LAST_DAY))
    lead = timedelta(minutes=DEFAULT_LEAD_MINUTES)
    schedule = with_outcomes(flights, "canonical", (stream_topics.input, stream_topics.outcomes), 0, lead)
    pace = 20.0 / len(schedule)  # about 20 s of stream
    schedule = [replace(item, due_s=i * pace) for i, item in enumerate(schedule)]
    sender = threading.Thread(target=publish_schedule, args=(Producer({"bootstrap.servers": bootstrap}), schedule))

    model_dir = stream_training_run.directory
    first = _scorer(bootstrap, model_dir, stream_topics, tmp_path / "scorer-a.log", "a")
    other = _scorer(bootstrap, model_dir, stream_topics, tmp_path / "scorer-b.log", "b")
    monitor = monitor_process(bootstrap, stream_topics, tmp_path / "monitor.log")
    restarted: ScorerProcess | None = None
    try:
        first.wait_ready()
        other.wait_ready()
        monitor.wait_ready()
        sender.start()
        wait_until(
            "200 events scored before the kill",
            lambda: first.metric("flightdelay_events_scored_total") >= 200,
            60,
            every_s=0.1,
            seen=first.log_tail,
        )
        first.kill()
        assert sender.is_alive(), "the kill must land while flights still arrive"
        restarted = _scorer(bootstrap, model_dir, stream_topics, tmp_path / "scorer-a2.log", "a")
        restarted.wait_ready()
        sender.join()
        predictions, letters = read_outputs(bootstrap, stream_topics, len(flights), idle_s=30)
        behind = sum(p.metric("flightdelay_stream_events_behind_total") for p in (other, restarted))
        held = restarted.metric("flightdelay_stream_outcomes_held")
        checked, differing, unchecked = _monitor_check(monitor, len(flights))
        status, answer = other.post("/predict", flights[-1][1].model_dump_json().encode())
        assert other.stop() == 0 and restarted.stop() == 0 and monitor.stop() == 0
    finally:
        for process in (first, other, restarted, monitor):
            if process is not None:
                process.kill()

    frame = load_flights(DATASET)
    scheduled = frame["Fecha-I"].dt.date
    frame = with_stream_features(frame[(scheduled >= FIRST_DAY) & (scheduled <= LAST_DAY)], DEFAULT_LEAD_MINUTES)
    offline = load_artifact(model_dir).pipeline.predict_proba(frame)[:, 1]
    ids = [event.resolved_id() for _, event in flights]
    assert len(frame) == len(ids) == len(set(ids))
    expected = dict(zip(ids, offline.tolist(), strict=True))
    online = {p.flight_id: p.delay_probability for p in predictions}
    assert not letters
    assert len(predictions) == len(online) == len(expected), "each flight predicted exactly once"
    mismatched = [flight for flight, probability in expected.items() if online[flight] != probability]
    # the values each prediction carries, feature by feature, against the backfill's
    offline_values = dict(zip(ids, frame[list(STREAM_FEATURE_NAMES)].to_numpy().tolist(), strict=True))
    by_feature = {name: 0 for name in STREAM_FEATURE_NAMES}
    for prediction in predictions:
        assert prediction.stream_features is not None and prediction.stream_features_current is True
        offline_row = offline_values[prediction.flight_id]
        for name, value, carried in zip(STREAM_FEATURE_NAMES, offline_row, prediction.stream_features, strict=True):
            by_feature[name] += not (carried == value or (carried is None and np.isnan(value)))
    print(
        f"\n{len(expected):,} flights, {len(mismatched)} probabilities and {sum(by_feature.values())} of "
        f"{len(expected) * len(by_feature):,} feature values mismatched; {int(behind)} scored behind the departures; "
        f"{int(held):,} outcomes held by the restarted scorer; the monitor recomputed {checked:,} values of joined "
        f"predictions: {differing} differ; not checked: {unchecked or 'none'}"
    )
    assert checked == len(expected) * len(STREAM_FEATURE_NAMES) and differing == 0 and not unchecked
    # asked now, the replayed month's outcomes are all older than the longest window
    assert status == 200, answer
    [asked] = orjson.loads(answer)["predictions"]
    assert asked["stream_features_current"] is True
    assert asked["stream_features"] == list(NOTHING_KNOWN)
    assert not mismatched, mismatched[:5]
    assert not any(by_feature.values()), {name: n for name, n in by_feature.items() if n}
    assert np.isfinite(offline).all()


def test_a_departures_feed_gone_mid_stream_flags_predictions_and_alerts_without_a_stall(
    bootstrap: str, admin: AdminClient, stream_training_run: TrainingRun, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    """Three days with their outcomes, then the departures topic deleted and three more days of events: every flight
    is still predicted, those after the loss flagged (`stream_features_current` false) and counted, and a real
    Prometheus puts StreamFeaturesBehind in pending on the scorer's own metric."""
    lead = timedelta(minutes=DEFAULT_LEAD_MINUTES)
    topics = (stream_topics.input, stream_topics.outcomes)
    before = list(dataset_flights(DATASET, date_from=date(2017, 11, 1), date_to=date(2017, 11, 3)))
    after = list(dataset_flights(DATASET, date_from=date(2017, 11, 4), date_to=date(2017, 11, 6)))
    with_feed = with_outcomes(before, "canonical", topics, 0, lead)
    without_feed = [item for item in with_outcomes(after, "canonical", topics, 0, lead) if item.topic == topics[0]]
    with scorers(bootstrap, stream_training_run.directory, stream_topics, tmp_path, SCORER_BATCH_SIZE="100") as fleet:
        (scorer,) = fleet
        with prometheus({"scorer": [scorer.port]}, tmp_path) as server:
            publish_schedule(Producer({"bootstrap.servers": bootstrap}), with_feed)
            first, _ = read_outputs(bootstrap, stream_topics, len(before), idle_s=10)
            assert len(first) == len(before) and all(p.stream_features_current for p in first)
            assert not server.alerts("StreamFeaturesBehind")
            # `increase` needs a sample from before the loss: a scrape that timed out on the busy scorer would
            # leave Prometheus with none, and the first one it holds would already count the flagged events
            server.wait_for(lambda: bool(server.api(f"query?query={BEHIND}")["result"]), 30, "a scrape of the scorer")

            for future in admin.delete_topics([stream_topics.outcomes]).values():
                future.result()
            _until_gone(admin, stream_topics.outcomes)
            try:
                started = time.monotonic()
                publish_schedule(Producer({"bootstrap.servers": bootstrap}), without_feed)
                everything, letters = read_outputs(bootstrap, stream_topics, len(before) + len(after), idle_s=10)
                took = time.monotonic() - started
                flagged = sum(p.stream_features_current is False for p in everything)
                assert flagged == len(after), f"{flagged} of the {len(after)} later flights flagged"
                pending = server.wait_for(
                    lambda: "pending" in server.states("StreamFeaturesBehind"), 60, "StreamFeaturesBehind pending"
                )
                behind = scorer.metric(BEHIND)
                assert scorer.get("/readyz")[0] == 200, "scoring goes on"
            finally:
                _recreate(admin, stream_topics)
    later_ids = {event.resolved_id() for _, event in after}
    later = [p for p in everything if p.flight_id in later_ids]
    print(
        f"\ndepartures topic deleted: {len(later):,} later flights predicted in {took:.1f} s, all flagged "
        f"({int(behind):,} counted behind); StreamFeaturesBehind pending {pending:.1f} s after the last prediction"
    )
    assert not letters
    assert len(everything) == len(before) + len(after) and len(later) == len(after), "every flight, exactly once"
    assert all(p.stream_features_current is False for p in later)
    assert behind == len(after)


def test_a_departures_feed_that_stops_publishing_raises_its_alerts_while_scoring_goes_on(
    bootstrap: str,
    stream_training_run: TrainingRun,
    training_run: TrainingRun,
    stream_topics: TopicSettings,
    tmp_path: Path,
) -> None:
    """A day with its outcomes, then a day of events only, the topic still there (the feed's producer stopped):
    every catch-up reaches the topic's end, so every prediction is current, but the newest departure read falls a
    day behind the events on the flights' own clock, for the scorer and the monitor alike, and a real Prometheus
    puts DeparturesStopped and OutcomesNotArriving in pending. An event-only champion promoted then reads no
    departures, so DeparturesStopped resolves; the monitor's OutcomesNotArriving stays, as the feed is still
    stopped."""
    lead = timedelta(minutes=DEFAULT_LEAD_MINUTES)
    topics = (stream_topics.input, stream_topics.outcomes)
    before = list(dataset_flights(DATASET, date_from=date(2017, 11, 1), date_to=date(2017, 11, 1)))
    after = list(dataset_flights(DATASET, date_from=date(2017, 11, 2), date_to=date(2017, 11, 2)))
    last = list(dataset_flights(DATASET, date_from=date(2017, 11, 3), date_to=date(2017, 11, 3)))
    with_feed = with_outcomes(before, "canonical", topics, 0, lead)
    without_feed = [item for item in with_outcomes(after, "canonical", topics, 0, lead) if item.topic == topics[0]]
    events_only = [item for item in with_outcomes(last, "canonical", topics, 0, lead) if item.topic == topics[0]]
    event_only = training_run.directory
    promoted = ModelControl(
        role=ModelRole.CHAMPION,
        model=ModelRef(
            version=event_only.name, uri=str(event_only), manifest_sha256=file_sha256(event_only / MANIFEST_FILE)
        ),
        requested_at=datetime.now(UTC),
        requested_by="test",
        reason="an event-only champion",
    )
    monitor = monitor_process(bootstrap, stream_topics, tmp_path / "monitor.log")
    try:
        with scorers(
            bootstrap, stream_training_run.directory, stream_topics, tmp_path, SCORER_BATCH_SIZE="100"
        ) as fleet:
            (scorer,) = fleet
            monitor.wait_ready()
            with prometheus({"scorer": [scorer.port], "monitor": [monitor.port]}, tmp_path) as server:
                publish_schedule(Producer({"bootstrap.servers": bootstrap}), with_feed)
                first, _ = read_outputs(bootstrap, stream_topics, len(before), idle_s=10)
                fed = scorer.metric(AGE)
                monitor_fed = first_value(
                    lambda: monitor.metric(OUTCOME_AGE), lambda age: age < 3 * 3600, "monitor fed"
                )
                assert not server.alerts("DeparturesStopped") and not server.alerts("OutcomesNotArriving")
                publish_schedule(Producer({"bootstrap.servers": bootstrap}), without_feed)
                everything, letters = read_outputs(bootstrap, stream_topics, len(before) + len(after), idle_s=10)
                stopped = scorer.metric(AGE)
                monitor_stopped = first_value(
                    lambda: monitor.metric(OUTCOME_AGE), lambda age: age > 12 * 3600, "stopped"
                )
                pending = server.wait_for(
                    lambda: {"pending"} <= server.states("DeparturesStopped") & server.states("OutcomesNotArriving"),
                    60,
                    "DeparturesStopped and OutcomesNotArriving pending",
                )
                assert scorer.get("/readyz")[0] == 200, "scoring goes on"

                write_control({"bootstrap.servers": bootstrap}, stream_topics.model_control, promoted)
                publish_schedule(Producer({"bootstrap.servers": bootstrap}), events_only)
                total = len(before) + len(after) + len(last)
                swapped, _ = read_outputs(bootstrap, stream_topics, total, idle_s=10)
                unread = scorer.metric(AGE)
                monitor_later = first_value(
                    lambda: monitor.metric(OUTCOME_AGE), lambda age: age > 36 * 3600, "a day on"
                )
                resolved = server.wait_for(
                    lambda: not server.alerts("DeparturesStopped"), 60, "DeparturesStopped resolved"
                )
                still = server.states("OutcomesNotArriving")
    finally:
        monitor.stop()
    hours = {name: f"{value / 3600:.1f} h" for name, value in (("fed", fed), ("stopped", stopped))}
    monitor_hours = [f"{value / 3600:.1f} h" for value in (monitor_fed, monitor_stopped, monitor_later)]
    print(
        f"\nnewest departure before the newest event: scorer {hours['fed']} while fed, {hours['stopped']} after a day "
        f"without outcomes; monitor {' -> '.join(monitor_hours)} (fed, a day, two days); both alerts pending "
        f"{pending:.1f} s after the last prediction; DeparturesStopped resolved {resolved:.1f} s after an event-only "
        f"champion's, OutcomesNotArriving {sorted(still)}"
    )
    assert len(first) == len(before) and fed < 3 * 3600
    assert not letters and len(everything) == len(before) + len(after)
    assert all(p.stream_features_current for p in everything), "every catch-up reached the topic's end"
    assert stopped > 12 * 3600
    flights = [event.resolved_id() for _, event in (*before, *after, *last)]
    assert sorted(p.flight_id for p in swapped) == sorted(flights), "every flight, exactly once"
    by_flight = {p.flight_id: p.model_version for p in swapped}
    assert {by_flight[event.resolved_id()] for _, event in (*before, *after)} == {stream_training_run.directory.name}
    assert event_only.name in {by_flight[event.resolved_id()] for _, event in last}, "the promotion took effect"
    assert math.isnan(unread), "no version served reads the departures: no age to alert on"
    assert still == {"pending"}, "the monitor still sees no outcome arriving"


def test_the_monitor_finds_an_outcome_the_scorer_read_too_late(
    bootstrap: str, stream_training_run: TrainingRun, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    """A fault the scorer cannot see: one outcome published 200 records (about 5 s) after its moment (a late
    producer), so the events in between were scored without it. The monitor checks each prediction when its
    flight's outcome joins: for the events whose outcome came after the late one, it has read it and reports the
    differing values; with no fault it reports none (above)."""
    flights = list(dataset_flights(DATASET, date_from=date(2017, 11, 1), date_to=date(2017, 11, 2)))
    topics = (stream_topics.input, stream_topics.outcomes)
    schedule = with_outcomes(flights, "canonical", topics, 0, timedelta(minutes=DEFAULT_LEAD_MINUTES))
    outcomes = [i for i, item in enumerate(schedule) if item.topic == topics[1]]
    moved = outcomes[len(outcomes) // 2]  # mid-day: events follow it within every window
    late = schedule.pop(moved)
    schedule.insert(moved + 200, replace(late, after_delivery=False))
    pace = 20.0 / len(schedule)  # about 20 s of stream: the scorer scores the events in between before it
    schedule = [replace(item, due_s=i * pace) for i, item in enumerate(schedule)]
    monitor = monitor_process(bootstrap, stream_topics, tmp_path / "monitor.log")
    try:
        with scorers(bootstrap, stream_training_run.directory, stream_topics, tmp_path, 1, **SMALL_BATCHES):
            monitor.wait_ready()
            publish_schedule(Producer({"bootstrap.servers": bootstrap}), schedule)
            predictions, _ = read_outputs(bootstrap, stream_topics, len(flights), idle_s=10)
            checked, differing, unchecked = _monitor_check(monitor, len(flights))
        assert monitor.stop() == 0
    finally:
        monitor.kill()
    print(
        f"\none outcome published 200 records late: the monitor recomputed {checked:,} values, {differing} differ "
        f"(not checked: {unchecked or 'none'})"
    )
    flagged = sum(not p.stream_features_current for p in predictions)
    assert len(predictions) == len(flights) and flagged == 0, f"{flagged} scored behind the departures"
    assert checked == len(flights) * len(STREAM_FEATURE_NAMES) and not unchecked
    assert differing > 0, "the late outcome must show in the values of the events scored without it"


def _monitor_check(monitor: ScorerProcess, predictions: int, stall_s: float = 60) -> tuple[int, int, dict[str, int]]:
    """Once the monitor has checked (or given up) every prediction: values checked and values that differ, summed
    over the features, and the predictions it could not check, by why. A loaded machine slows the monitor down,
    so it is given time as long as it makes progress; `stall_s` without any fails the test, saying where it was."""

    def total(metric: str, labels: list[str], label: str) -> int:
        return int(sum(monitor.metric(f'{metric}{{{label}="{value}"}}') for value in labels))

    features, reasons = list(STREAM_FEATURE_NAMES), list(UNCHECKED_REASONS)
    seen: tuple[int, ...] = ()
    last_progress = time.monotonic()
    while True:
        checked = total("flightdelay_monitor_stream_feature_values_total", features, "feature")
        unchecked = {
            reason: total("flightdelay_monitor_stream_predictions_unchecked_total", [reason], "reason")
            for reason in reasons
        }
        if checked + sum(unchecked.values()) * len(features) >= predictions * len(features):
            break
        read = total("flightdelay_monitor_records_total", ["flight", "champion", "outcome"], "kind")
        waiting = int(monitor.metric("flightdelay_monitor_stream_predictions_waiting"))
        now = (checked, *unchecked.values(), read, waiting)
        if now != seen:
            seen, last_progress = now, time.monotonic()
        assert time.monotonic() - last_progress < stall_s, (
            f"the monitor stalled: {checked // len(features):,} of {predictions:,} predictions checked, "
            f"{waiting:,} waiting, unchecked {unchecked}\n{monitor.log_tail(40)}"
        )
        time.sleep(0.5)
    differing = total("flightdelay_monitor_stream_feature_mismatches_total", features, "feature")
    return checked, differing, {reason: count for reason, count in unchecked.items() if count}


def _until_gone(admin: AdminClient, topic: str, timeout_s: float = 30) -> None:
    """Wait until the broker stops answering for a deleted topic: its partitions are still served for a moment
    after the deletion returns (until then a catch-up still reads their ends, rightly current)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            request = {TopicPartition(topic, 0): OffsetSpec.latest()}  # type: ignore[no-untyped-call]
            for future in admin.list_offsets(request, request_timeout=2).values():
                future.result()
        except KafkaException:
            return
        time.sleep(0.2)
    raise AssertionError(f"{topic} still answered {timeout_s:.0f} s after its deletion")


def _recreate(admin: AdminClient, topics: TopicSettings) -> None:
    """The departures topic back, for the fixture that deletes every topic of the test."""
    ensure_topics(admin, [spec for spec in topic_specs(topics) if spec.name == topics.outcomes])
