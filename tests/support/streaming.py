"""Helpers for tests that stream through real scorer processes on the real broker."""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from kafka_common.settings import TopicSettings
from local_stack.processes import ScorerProcess
from producer.reading import committed_reader, parse_output, read_messages
from producer.replay import dataset_events, publish
from schemas import DeadLetter, DelayPrediction
from tests.support.dataset import DATASET


def dataset_rows(count: int, start: int = 0) -> list[dict[str, str]]:
    with DATASET.open(encoding="utf-8", newline="") as handle:
        return list(islice(csv.DictReader(handle), start, start + count))


def send(bootstrap: str, topic: str, events: list[tuple[bytes | None, bytes]], headers: bool = False) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    report = publish(producer, topic, events)
    assert report.failed == 0, report.first_error


def send_dataset(bootstrap: str, topic: str, count: int, start: int = 0) -> list[tuple[bytes, bytes]]:
    events = list(dataset_events(DATASET, start=start, limit=count))
    send(bootstrap, topic, list(events))
    return events


def read_outputs(
    bootstrap: str | dict[str, Any], topics: TopicSettings, expected: int, max_wait_s: float = 90, idle_s: float = 20
) -> tuple[list[DelayPrediction], list[DeadLetter]]:
    """Everything committed on the output topics, read until `expected` records plus a quiet grace period."""
    config = {"bootstrap.servers": bootstrap} if isinstance(bootstrap, str) else bootstrap
    reader = committed_reader(config, [topics.predictions, topics.dead_letter])
    predictions: list[DelayPrediction] = []
    letters: list[DeadLetter] = []
    try:
        for message in read_messages(reader, lambda: len(predictions) + len(letters) >= expected, idle_s, max_wait_s):
            output = parse_output(message, topics.predictions)
            if isinstance(output, DelayPrediction):
                predictions.append(output)
            else:
                letters.append(output)
        # Anything beyond `expected` would be a duplicate: listen a little longer for it.
        for message in read_messages(reader, lambda: False, 3, 3):
            output = parse_output(message, topics.predictions)
            (predictions if isinstance(output, DelayPrediction) else letters).append(output)  # type: ignore[arg-type]
    finally:
        reader.close()
    return predictions, letters


def scorer_env(topics: TopicSettings, **extra: str) -> dict[str, str]:
    return {
        **topics.environment(),
        "SCORER_GROUP_ID": f"group-{topics.input}",
        "SCORER_LOG_LEVEL": "INFO",
        **extra,
    }


def monitor_process(bootstrap: str, topics: TopicSettings, log: Path, instance: str = "m") -> ScorerProcess:
    """A started monitor process on `topics`, in a group of its own."""
    env = {**topics.environment(), "MONITOR_GROUP_ID": f"monitor-{topics.input}"}
    return ScorerProcess(bootstrap, "-", log, instance, env, module="monitor").start()


@contextmanager
def scorers(
    bootstrap: str, model_dir: Path, topics: TopicSettings, log_dir: Path, count: int = 1, **extra: str
) -> Iterator[list[ScorerProcess]]:
    """Start `count` ready scorer processes; on exit stop them and require a clean exit 0."""
    processes = [
        ScorerProcess(bootstrap, model_dir, log_dir / f"scorer-{i}.log", f"i{i}", scorer_env(topics, **extra)).start()
        for i in range(count)
    ]
    try:
        for process in processes:
            process.wait_ready()
        yield processes
    except BaseException:
        for process in processes:
            print(f"--- {process.instance_id} log ---\n{process.log_tail(60)}")
        raise
    finally:
        codes = [process.stop() for process in processes]
    assert all(code == 0 for code in codes if code is not None), f"unclean exits {codes}"


def read_keys(bootstrap: str, topic: str, expected: int, max_wait_s: float = 60, idle_s: float = 10) -> list[bytes]:
    """The keys of every committed record of `topic`, read until `expected` arrived and then a quiet moment (when a
    duplicate would show)."""
    reader = committed_reader({"bootstrap.servers": bootstrap}, [topic])
    keys: list[bytes] = []
    try:
        for message in read_messages(reader, lambda: len(keys) >= expected, idle_s, max_wait_s):
            keys.append(message.key() or b"")
        for message in read_messages(reader, lambda: False, 3, 3):
            keys.append(message.key() or b"")
    finally:
        reader.close()
    return keys


def first_value(read: Callable[[], float], holds: Callable[[float], bool], what: str, timeout_s: float = 60) -> float:
    """The first value `read` gives that `holds` (a metric of a process that reads at its own pace); fails after
    `timeout_s` with the last value read."""
    deadline, value = time.monotonic() + timeout_s, math.nan
    while time.monotonic() < deadline:
        value = read()
        if holds(value):
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: last value {value} after {timeout_s:.0f} s")
