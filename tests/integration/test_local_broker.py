"""The local JVM broker: restart keeps data, close leaves nothing, a dead parent takes the JVM along, and a
producer started the moment it is ready gets its id without a warning."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from local_stack import broker_jars
from local_stack.broker import READY_ATTEMPT_S, LocalBrokerError, LocalKafkaBroker, default_cache_dir

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purposes.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def _wait_gone(pid: int, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.2)
    return False


class _Kept(logging.Handler):
    """Log records at warning level or above, each as "LEVEL: message"."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname}: {record.getMessage()}")


def _first_producer_warnings(broker: LocalKafkaBroker, topic: str) -> list[str]:
    """What librdkafka says at warning level or above for an idempotent producer started the moment the broker
    said it was ready, until its first record is delivered to `topic` (created meanwhile when missing)."""
    logger = logging.getLogger(f"librdkafka.first-producer.{broker.port}.{time.monotonic_ns()}")
    kept = _Kept()
    logger.addHandler(kept)
    logger.propagate = False
    try:
        producer = Producer({**broker.client_config(), "enable.idempotence": True, "logger": logger})
        admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
        if topic not in admin.list_topics(timeout=10).topics:
            admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result()
        producer.produce(topic, b"first")
        assert producer.flush(30) == 0
        producer.poll(0.5)  # serve what it still has to say
        return kept.lines
    finally:
        logger.removeHandler(kept)


def test_restart_keeps_topics_and_close_removes_everything_and_each_start_is_ready_for_producers() -> None:
    broker = LocalKafkaBroker().start()
    try:
        assert _first_producer_warnings(broker, "survives-restart") == []
        first_pid = broker.pid
        broker.stop()
        assert first_pid is not None and _wait_gone(first_pid)
        broker.start()
        assert _first_producer_warnings(broker, "survives-restart") == []
        admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
        assert "survives-restart" in admin.list_topics(timeout=10).topics
        pid = broker.pid
    finally:
        broker.close()
    assert pid is not None and _wait_gone(pid), "JVM still running after close()"
    assert not broker.workdir.exists()


def test_a_jvm_dying_before_it_hands_out_producer_ids_is_reported_at_once() -> None:
    """A broker whose transaction coordinator cannot start (its log asks for 3 replicas of 1 broker) answers
    metadata and never gives a producer id; its JVM is killed while start-up waits for one."""
    broker = LocalKafkaBroker(extra_properties={"transaction.state.log.replication.factor": "3"}, ready_timeout_s=90)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    killed_at: list[float] = []
    ended = threading.Event()

    def kill_once_it_answers() -> None:
        while not ended.is_set() and (broker.pid is None or not _answers(admin)):
            time.sleep(0.2)
        pid = broker.pid
        if ended.wait(2 * READY_ATTEMPT_S) or pid is None:  # well into the wait for an id, unless start-up ended
            return
        os.kill(pid, signal.SIGKILL)
        killed_at.append(time.monotonic())

    killer = threading.Thread(target=kill_once_it_answers, daemon=True)
    killer.start()
    try:
        with pytest.raises(LocalBrokerError, match="exited during start-up"):
            broker.start()
        reported_at = time.monotonic()
    finally:
        ended.set()
        killer.join()
        broker.close()
    assert killed_at, "start-up ended before the JVM was killed"
    assert reported_at - killed_at[0] < 4 * READY_ATTEMPT_S, "the death was noticed only at the start-up bound"


def _answers(admin: AdminClient) -> bool:
    try:
        return bool(admin.list_topics(timeout=1.0).brokers)
    except KafkaException:
        return False


def test_jvm_dies_with_a_killed_parent(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from local_stack.broker import LocalKafkaBroker\n"
        "b = LocalKafkaBroker().start()\n"
        "print(b.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    # The kernel stops the JVM, but only a parent's exit removes the broker's directory: keep it in the test's.
    environment = {**os.environ, "TMPDIR": str(tmp_path)}
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=environment)
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.strip().isdigit(), f"broker did not start: {line!r}"
        jvm_pid = int(line)
        assert _alive(jvm_pid)
        parent.send_signal(signal.SIGKILL)  # no atexit, no finally: only the kernel can clean up
        parent.wait()
        assert _wait_gone(jvm_pid), f"orphan Kafka JVM {jvm_pid} outlived its killed parent"
        assert [path.name[: len("kafka-local-")] for path in tmp_path.iterdir()] == ["kafka-local-"]
    finally:
        if parent.poll() is None:
            parent.kill()


def test_the_jar_lock_is_what_maven_resolves_from_the_pom() -> None:
    """The lock is made by Maven and must stay equal to its resolution: same jars, order and bytes."""
    assert broker_jars.resolve_with_maven(default_cache_dir() / "m2") == broker_jars.locked_jars()
