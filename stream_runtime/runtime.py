"""The exactly-once batch runtime: one loop that reads a batch, has the processor turn it into outputs, commits
outputs and input offsets together, and rewinds what was not committed.

What the runtime owns: the clients (configured once, `stream_runtime.clients`), the committer chosen by the
guarantee (`stream_runtime.committers`, which carries out `stream_runtime.recovery.decide`), rebalances (newly
assigned partitions stay paused until the processor has recovered their state, from the loop), the client
observer (errors, broker state, lag), health and metrics of its own, and the exit code. What it does not know:
what a record means. That is the processor's (`stream_runtime.processor.Processor`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition
from prometheus_client import CollectorRegistry

from stream_runtime.broker_wait import await_broker
from stream_runtime.clients import consumer_config, producer_config
from stream_runtime.committers import CommitEvents, make_committer, rewind
from stream_runtime.exits import ExitCode, ServiceExit
from stream_runtime.health import Answer, HealthState, start_health_server
from stream_runtime.metrics import RuntimeMetrics
from stream_runtime.observer import ClientObserver
from stream_runtime.processor import Processor, RuntimeView
from stream_runtime.records import first_offsets, usable_records
from stream_runtime.service import exit_code_of
from stream_runtime.settings import StreamSettings

log = logging.getLogger("stream_runtime")

# Statistics carry lag and broker state; readiness treats a report three intervals old as stale.
STATISTICS_INTERVAL_MS = 2000


@dataclass(frozen=True)
class ServiceSpec:
    """What a service tells the runtime about itself."""

    name: str  # in its log lines: "<name> starting"
    inputs: Sequence[str]
    metric_prefix: str  # of the runtime's own metrics, in the service's registry
    port_variable: str  # where the HTTP port came from, named when the port is taken
    conditions: tuple[str, ...] = ()  # readiness conditions of the service's own (HealthState.conditions)
    max_message_bytes: int = 1024 * 1024  # the largest output it writes
    assignment_strategy: str | None = None  # librdkafka's default unless the processor needs another
    post_routes: Mapping[str, Callable[[bytes], Answer]] = field(default_factory=dict)
    max_body_bytes: int = 1024 * 1024


class StreamRuntime:
    """One instance of a service in its consumer group."""

    def __init__(
        self,
        processor: Processor[Any],
        spec: ServiceSpec,
        settings: StreamSettings,
        client: dict[str, Any],
        registry: CollectorRegistry,
    ) -> None:
        self.processor, self.spec, self.settings = processor, spec, settings
        self.health = HealthState(spec.conditions, broker_stale_after_s=3 * STATISTICS_INTERVAL_MS / 1000)
        self.metrics = RuntimeMetrics(registry, spec.metric_prefix, lambda: all(self.health.readiness().values()))
        self.registry = registry
        self.observer = ClientObserver(self.health, self.metrics)
        self._stop = threading.Event()
        self._recovering: list[TopicPartition] = []
        self.committed_batches = self.committed_records = 0
        self.http_port: int | None = None
        self._server: ThreadingHTTPServer | None = None
        common = {
            **client,
            "error_cb": self.observer.on_client_error,
            "statistics.interval.ms": STATISTICS_INTERVAL_MS,
            "logger": logging.getLogger("librdkafka"),
        }
        config = {**consumer_config(common, settings), "stats_cb": self.observer.on_stats}
        if spec.assignment_strategy:
            config["partition.assignment.strategy"] = spec.assignment_strategy
        self.consumer = Consumer(config)
        self.bootstrap_servers = str(client.get("bootstrap.servers", ""))
        self.committer = make_committer(
            settings.exactly_once,
            self.consumer,
            producer_config(common, settings, spec.max_message_bytes),
            settings.transaction_timeout_ms / 1000,
            self._stop,
            CommitEvents(
                on_client_error=self.observer.on_client_error,
                on_retry=self.observer.on_retry,
                on_abort=self.metrics.aborted.inc,
                on_replace=self.metrics.producer_restarts.inc,
            ),
        )
        processor.attach(RuntimeView(self.consumer, self.health))

    # --- lifecycle ----------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Finish the in-flight batch, commit it, then leave the group (safe from a signal handler)."""
        self._stop.set()

    def run(self) -> int:
        """Process until stopped; return the process exit code. The last log line says so, with what was
        committed (closing the consumer logs the revocation after the loop's own lines)."""
        code = ExitCode.FATAL
        try:
            code = exit_code_of(self._serve, log)
            return int(code)
        finally:
            self._close()
            log.info(
                f"{self.spec.name} stopped",
                extra={
                    "exit_code": int(code),
                    "batches_committed": self.committed_batches,
                    "records_committed": self.committed_records,
                },
            )

    def _serve(self) -> None:
        self._server = start_health_server(
            self.settings.http_port,
            self.health,
            self.registry,
            self.spec.post_routes,
            self.spec.max_body_bytes,
            self.spec.port_variable,
        )
        self.http_port = self._server.server_address[1]
        self._await_broker()
        if self._stop.is_set():  # stopped while waiting: nothing that needs the broker has started
            return
        self.processor.start()
        self.committer.start()
        self.consumer.subscribe(
            list(self.spec.inputs), on_assign=self._assigned, on_revoke=self._revoked, on_lost=self._lost
        )
        log.info(f"{self.spec.name} starting", extra={**self.processor.description(), "http_port": self.http_port})
        while not self._stop.is_set():
            self._step()
        log.info("stopping: in-flight batch committed, leaving the group")

    def _step(self) -> None:
        """One turn of the loop: recover what was assigned, the processor's between-batches work, one read, and a
        batch when records arrived or work is due."""
        self.health.last_loop = time.monotonic()
        if self._recovering:
            self._recover()
        self.processor.between_batches()
        records = usable_records(
            self.consumer.consume(self.settings.batch_size, self.settings.batch_max_wait_ms / 1000)
        )
        self.observer.raise_on_access_error()
        due = self.processor.due()
        if records or due:
            self._batch(records, due)

    def _batch(self, records: Sequence[Message], due: bool) -> None:
        batch = self.processor.process(records, datetime.now(UTC), due)
        if self.committer.commit(batch.outputs, batch.offsets):
            self.committed_batches += 1
            self.committed_records += len(records)
            self.processor.committed(batch)
        else:
            if records:
                rewind(self.consumer, first_offsets(records))
            self.processor.aborted(records)

    def _await_broker(self) -> None:
        """Wait for the broker at start-up; fail fast on credentials or TLS, give up after the start-up timeout."""
        timeout_s = self.settings.startup_timeout_s
        error = await_broker(
            self.consumer,
            timeout_s,
            turn_s=2.0,
            # The client's lines say why; this one says what the service does about it.
            waiting=lambda: log.info(
                f"{self.spec.name} waiting for the broker (at most {timeout_s:.0f} s)",
                extra={"bootstrap_servers": self.bootstrap_servers},
            ),
            carry_on=self._still_starting,
        )
        if error is not None and not self._stop.is_set():
            raise ServiceExit(ExitCode.FATAL, f"no broker answered within {timeout_s:.0f} s")

    def _still_starting(self) -> bool:
        """Between turns of the wait: an access error (its error callback was just served) ends it with exit 2."""
        self.observer.raise_on_access_error()
        return not self._stop.is_set()

    def _close(self) -> None:
        """Closing must not turn an exit into a traceback: each step's error is one log line."""
        for what, close in (
            ("the consumer", self.consumer.close),  # leaves the group at once: partitions move without a timeout
            ("the producer", self.committer.close),
            ("the processor", self.processor.close),
        ):
            try:
                close()
            except Exception as exc:
                log.warning("closing %s: %s", what, exc)
        if self._server is not None:
            self._server.shutdown()

    # --- rebalances: run inside consume(), on the loop's thread -------------------------------------------------
    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.observer.on_assign(consumer, partitions)
        self.processor.assigned(partitions)
        if self.processor.recovers_state and partitions:
            consumer.assign(partitions)  # ours, so that the pause below holds (the client would assign after us)
            consumer.pause(partitions)
            self._recovering += partitions

    def _revoked(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.observer.on_revoke(partitions)
        self._forget(partitions)

    def _lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.observer.on_lost(partitions)
        self._forget(partitions)

    def _forget(self, partitions: list[TopicPartition]) -> None:
        gone = {(tp.topic, tp.partition) for tp in partitions}
        self._recovering = [tp for tp in self._recovering if (tp.topic, tp.partition) not in gone]
        self.processor.revoked(partitions)

    def _recover(self) -> None:
        """The processor rebuilds the state of the partitions assigned since the last turn, then they are read."""
        partitions, self._recovering = self._recovering, []
        self.processor.recover(partitions)
        self.consumer.resume(partitions)
