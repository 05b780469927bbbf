"""`flightdelay-producer redrive` on the real broker: what a scorer dead-lettered goes back to the input topic with
its original key, bytes and headers, once; a dry run sends nothing; a run SIGKILLed half-way loses and doubles
nothing when it is run again."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from kafka_common.settings import TopicSettings
from producer.reading import committed_reader, read_messages
from producer.redrive import REDRIVE_HEADER
from schemas import DeadLetter, FieldError, Header, SourcePosition
from tests.support.kafka import end_offsets
from tests.support.records import VALID_EVENT
from tests.support.streaming import read_outputs, scorers, send_dataset

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
Record = tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]]]


def redrive(bootstrap: str, topics: TopicSettings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "producer", "redrive", "--bootstrap", bootstrap, *args],
        cwd=ROOT, env={**os.environ, **topics.environment()}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def committed_records(bootstrap: str, topic: str, expected: int, idle_s: float = 5) -> list[Record]:
    reader = committed_reader({"bootstrap.servers": bootstrap}, [topic])
    records: list[Record] = []
    try:
        for message in read_messages(reader, lambda: len(records) >= expected, idle_s, 60):
            records.append((message.key(), message.value(), list(message.headers() or [])))  # type: ignore[arg-type]
        for message in read_messages(reader, lambda: False, 2, 2):  # a duplicate would come now
            records.append((message.key(), message.value(), list(message.headers() or [])))  # type: ignore[arg-type]
    finally:
        reader.close()
    return records


def test_dead_letters_go_back_with_their_bytes_once_and_a_dry_run_sends_nothing(
    bootstrap: str, model_dir: Path, stream_topics: TopicSettings, tmp_path: Path
) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    unknown = {f"NEW-{i}".encode(): orjson.dumps({**VALID_EVENT, "airline_name": "Nueva Aerolinea"}) for i in range(20)}
    broken = {f"BAD-{i}".encode(): b'{"scheduled_departure": ' for i in range(10)}
    for key, value in [*unknown.items(), *broken.items()]:
        producer.produce(stream_topics.input, value, key, headers=[("trace", b"t-" + key), ("empty", None)])
    assert producer.flush(30) == 0
    with scorers(bootstrap, model_dir, stream_topics, tmp_path):
        send_dataset(bootstrap, stream_topics.input, 300)  # enough valid events to stay under the invalid ratio
        _, letters = read_outputs(bootstrap, stream_topics, 330)
        assert Counter(letter.error_kind for letter in letters) == {"invalid_event": 20, "not_json": 10}
        before = end_offsets(bootstrap, stream_topics.input)

        everything = redrive(bootstrap, stream_topics, "--dry-run")  # what an operator asks first: which kinds
        assert everything.returncode == 0, everything.stderr
        assert "would redrive 30 (invalid_event: 20, not_json: 10); nothing sent to " in everything.stdout
        dry = redrive(bootstrap, stream_topics, "--kind", "invalid_event", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "would redrive 20 " in dry.stdout and "another kind: 10" in dry.stdout
        listed = [line for line in dry.stdout.splitlines() if ": invalid_event: " in line]
        assert listed and all(re.search(r" key 'NEW-\d+': ", line) for line in listed), dry.stdout
        assert end_offsets(bootstrap, stream_topics.input) == before, "a dry run published something"

        done = redrive(bootstrap, stream_topics, "--kind", "invalid_event")
        assert done.returncode == 0, done.stderr + done.stdout
        assert f"redriven 20 (invalid_event: 20) to {stream_topics.input}; " in done.stdout
        again = [r for r in committed_records(bootstrap, stream_topics.input, 330 + 20) if r[0] in unknown]
        assert len(again) == 40  # each original once, and each redriven copy once
        copies = [r for r in again if any(name == REDRIVE_HEADER for name, _ in r[2])]
        assert sorted(k for k, _, _ in copies) == sorted(unknown)  # type: ignore[type-var]
        for copy_key, copy_value, copy_headers in copies:
            assert copy_key is not None and copy_value == unknown[copy_key]
            assert copy_headers[:2] == [("trace", b"t-" + copy_key), ("empty", None)]  # original headers, in order
        # The scorer still does not know the airline: the copies fail again, and carry the redrive mark with them.
        _, letters = read_outputs(bootstrap, stream_topics, 350)
        assert len(letters) == 50
        marked = [letter for letter in letters if any(h.key == REDRIVE_HEADER for h in letter.headers)]
        assert sorted(base64.b64decode(letter.key_base64 or "") for letter in marked) == sorted(unknown)

    rerun = redrive(bootstrap, stream_topics)
    assert rerun.returncode == 0, rerun.stderr
    assert "redriven 0 " in rerun.stdout and "redriven once already and failed again: 20" in rerun.stdout


def dead_letters(count: int, topic: str) -> list[tuple[bytes, bytes]]:
    now = datetime.now(UTC)
    return [
        (
            f"K{i}".encode(),
            DeadLetter(
                error_kind="invalid_event", reason="test", errors=[FieldError(field="$", error="x", message="x")],
                key_base64=base64.b64encode(f"K{i}".encode()).decode(),
                value_base64=base64.b64encode(f"value {i}".encode()).decode(), value_bytes=len(f"value {i}"),
                value_sha256="00" * 32,
                headers=[Header(key="n", value_base64=base64.b64encode(str(i).encode()).decode())],
                source=SourcePosition(topic=topic, partition=0, offset=i), consumer_group="g", dead_lettered_at=now,
            ).model_dump_json().encode(),
        )
        for i in range(count)
    ]  # fmt: skip


LETTERS = 10_000


def start_a_long_redrive(
    bootstrap: str, topics: TopicSettings, output: int | None
) -> tuple[subprocess.Popen[str], int]:
    """`LETTERS` dead letters, a redrive of them in batches of 50, and how many it had committed once a fifth of
    them were visible (the process still running, so a fault lands with letters in flight)."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 20})
    for key, value in dead_letters(LETTERS, topics.input):
        producer.produce(topics.dead_letter, value, key)
    assert producer.flush(30) == 0
    process = subprocess.Popen(
        redrive_command(bootstrap), cwd=ROOT, env={**os.environ, **topics.environment()}, text=True,
        stdout=output, stderr=subprocess.STDOUT if output == subprocess.PIPE else output,
    )  # fmt: skip
    watcher = committed_reader({"bootstrap.servers": bootstrap}, [topics.input])
    seen = 0
    try:
        deadline = time.monotonic() + 120
        while seen < LETTERS // 5 and time.monotonic() < deadline and process.poll() is None:
            seen += sum(1 for m in watcher.consume(500, timeout=0.2) if m.error() is None)
    finally:
        watcher.close()
    assert process.poll() is None and seen < LETTERS, f"the fault must land while letters remain ({seen:,} committed)"
    return process, seen


def redrive_command(bootstrap: str) -> list[str]:
    return [sys.executable, "-m", "producer", "redrive", "--bootstrap", bootstrap, "--batch-size", "50"]


def rerun_and_check_each_letter_once(bootstrap: str, topics: TopicSettings, expected_line: str | None = None) -> None:
    """Run the redrive again: every letter is on the input exactly once over both runs, its value by its key."""
    rerun = subprocess.run(
        redrive_command(bootstrap), cwd=ROOT, env={**os.environ, **topics.environment()},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr + rerun.stdout
    if expected_line is not None:
        assert expected_line in rerun.stdout, rerun.stdout
    records = committed_records(bootstrap, topics.input, LETTERS)
    origins = Counter(dict(r[2]).get(REDRIVE_HEADER) for r in records)
    expected = {f"{topics.dead_letter}/{p}/{o}".encode() for p, o in _positions(bootstrap, topics)}
    assert set(origins) == expected and set(origins.values()) == {1}, "each letter exactly once, none lost"
    by_key = {key: value for key, value, _ in records}
    assert all(by_key[f"K{i}".encode()] == f"value {i}".encode() for i in range(LETTERS))


def test_a_redrive_killed_half_way_loses_and_doubles_nothing_when_run_again(
    bootstrap: str, stream_topics: TopicSettings
) -> None:
    process, seen = start_a_long_redrive(bootstrap, stream_topics, subprocess.DEVNULL)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    print(f"redrive SIGKILLed with {seen:,} of {LETTERS:,} letters committed")
    rerun_and_check_each_letter_once(bootstrap, stream_topics)


def test_ctrl_c_between_batches_commits_what_was_sent_and_a_rerun_sends_the_rest(
    bootstrap: str, stream_topics: TopicSettings
) -> None:
    process, seen = start_a_long_redrive(bootstrap, stream_topics, subprocess.PIPE)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "Traceback" not in output and "still in queue" not in output, output
    [line] = [line for line in output.splitlines() if line.startswith("interrupted between batches")]
    redriven = int(line.split("redriven ")[1].split()[0].replace(",", ""))
    assert seen <= redriven < LETTERS, line
    first = committed_records(bootstrap, stream_topics.input, redriven)
    origins = Counter(dict(r[2]).get(REDRIVE_HEADER) for r in first)
    assert len(origins) == redriven and set(origins.values()) == {1}, "what the line says went out, committed, once"
    print(f"redrive interrupted with {redriven:,} of {LETTERS:,} letters redriven and committed")
    rerun_and_check_each_letter_once(bootstrap, stream_topics, f"redriven {LETTERS - redriven:,} ")


def _positions(bootstrap: str, topics: TopicSettings) -> list[tuple[int, int]]:
    reader = committed_reader({"bootstrap.servers": bootstrap}, [topics.dead_letter])
    positions: list[tuple[int, int]] = []
    try:
        for message in read_messages(reader, lambda: False, 3, 60):
            positions.append((message.partition() or 0, message.offset() or 0))
    finally:
        reader.close()
    return positions
