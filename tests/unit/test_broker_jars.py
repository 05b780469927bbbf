"""The broker's jar lock: written and read back alike, refused when stale or malformed, checked by sha256."""

from __future__ import annotations

import hashlib
import multiprocessing
import time
from pathlib import Path

import pytest

from local_stack import broker_jars
from local_stack.broker_jars import BrokerJarsError, LockedJar

JARS = [
    LockedJar("org.apache.kafka", "kafka_2.13", "4.1.1", "a" * 64),
    LockedJar("org.slf4j", "slf4j-api", "2.0.17", "b" * 64),
]


def test_a_lock_reads_back_as_written() -> None:
    assert broker_jars.parse_lock(broker_jars.format_lock(JARS, "c" * 64)) == ("c" * 64, JARS)


def test_the_committed_lock_matches_the_pom_it_was_made_from() -> None:
    jars = broker_jars.locked_jars()
    assert any(jar.artifact == "kafka_2.13" for jar in jars)
    assert len({jar.coordinate for jar in jars}) == len(jars)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("group\tartifact\tversion\tsha256\n", "no POM digest"),
        (broker_jars.format_lock(JARS, "c" * 64) + "org.x\tonly-three\t1\n", "expected 4 tab-separated fields"),
    ],
)
def test_a_malformed_lock_is_refused_with_its_line(text: str, says: str) -> None:
    with pytest.raises(BrokerJarsError, match=says):
        broker_jars.parse_lock(text)


def test_a_lock_older_than_the_pom_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broker_jars, "pom_sha256", lambda: "d" * 64)
    with pytest.raises(BrokerJarsError, match="regenerate: flightdelay-kafka lock"):
        broker_jars.locked_jars()


def test_jars_already_in_the_cache_are_used_without_fetching(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A Maven-filled cache has the same layout; a jar whose bytes match its sha256 is not fetched again."""
    jars = []
    for group, artifact, version in [("org.example", "one", "1.0"), ("org.example.deep", "two", "2.0")]:
        content = f"{artifact} bytes".encode()
        jar = LockedJar(group, artifact, version, hashlib.sha256(content).hexdigest())
        jar.path_in(tmp_path).parent.mkdir(parents=True)
        jar.path_in(tmp_path).write_bytes(content)
        jars.append(jar)
    monkeypatch.setattr(broker_jars, "locked_jars", lambda: jars)
    fetched: list[list[LockedJar]] = []
    monkeypatch.setattr(broker_jars, "_fetch", lambda missing, repository: fetched.append(missing))
    assert broker_jars.classpath(tmp_path) == [
        str(tmp_path / "org/example/one/1.0/one-1.0.jar"),
        str(tmp_path / "org/example/deep/two/2.0/two-2.0.jar"),
    ]
    assert fetched == []
    jars[1].path_in(tmp_path).write_bytes(b"tampered")
    broker_jars.classpath(tmp_path)
    assert fetched == [[jars[1]]]


SLOW_JAR = b"a jar written in two halves"


def _start_beside_another(repository: Path, log: Path) -> None:
    """A broker's start on `repository` whose fetch writes its jar slowly and notes that it ran."""
    jar = LockedJar("org.example", "slow", "1.0", hashlib.sha256(SLOW_JAR).hexdigest())

    def fetch(missing: list[LockedJar], into: Path) -> None:
        with log.open("a") as notes:
            notes.write("fetched\n")
        target = jar.path_in(into)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            handle.write(SLOW_JAR[:10])
            handle.flush()
            time.sleep(0.5)  # the other start looks now, and must not take these bytes for the jar
            handle.write(SLOW_JAR[10:])

    broker_jars.locked_jars = lambda: [jar]  # in this child process only
    broker_jars._fetch = fetch  # type: ignore[assignment]
    assert broker_jars.classpath(repository) == [str(jar.path_in(repository))]


def test_brokers_started_side_by_side_on_a_cold_cache_fetch_once(tmp_path: Path) -> None:
    """Two starts at once (the test suite's workers, two commands): one fetches, the other waits and uses it."""
    repository, log = tmp_path / "m2", tmp_path / "fetches"
    context = multiprocessing.get_context("fork")
    starts = [context.Process(target=_start_beside_another, args=(repository, log)) for _ in range(2)]
    for start in starts:
        start.start()
    for start in starts:
        start.join(30)
    assert [start.exitcode for start in starts] == [0, 0]
    assert log.read_text().splitlines() == ["fetched"]
