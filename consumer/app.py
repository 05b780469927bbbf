"""The scorer's lifecycle and loop: consume a batch, transform it, commit it, then rewind or observe.

What a batch writes is computed by `consumer.transform` (no client there); how it is committed, retried and
recovered is the committer's (`consumer.committers`, chosen once from the processing guarantee). This module
only wires them to the clients, the health endpoints and the metrics.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer

from confluent_kafka import Consumer, KafkaException, Message

from consumer import native_lane
from consumer.client_events import ClientObserver
from consumer.clients import consumer_config, producer_config
from consumer.committers import CommitEvents, make_committer, rewind
from consumer.exits import ExitCode, ScorerExit
from consumer.health import HealthState, start_health_server
from consumer.invalid_limit import InvalidRatioLimit
from consumer.metrics import ScorerMetrics
from consumer.model_follower import ModelFollower
from consumer.predict_endpoint import PredictEndpoint
from consumer.records import first_offsets, usable_records
from consumer.scoring import BatchScorer
from consumer.service import exit_code_of
from consumer.settings import ScorerSettings
from consumer.transform import BatchTransform, OutputKind
from kafka_common.model_control import ControlReader
from kafka_common.settings import KafkaSettings, TopicSettings
from training.manifest import ModelVerificationError
from training.model_store import load_ref

log = logging.getLogger("consumer")

# Statistics carry lag and broker state; readiness treats a report three intervals old as stale.
STATISTICS_INTERVAL_MS = 2000


class ScorerApp:
    """One scorer instance in the consumer group."""

    def __init__(
        self,
        settings: ScorerSettings,
        kafka: KafkaSettings,
        topics: TopicSettings,
        bootstrap_servers: str | None = None,
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.metrics = ScorerMetrics()
        self.health = HealthState(broker_stale_after_s=3 * STATISTICS_INTERVAL_MS / 1000)
        self.metrics.ready.set_function(lambda: float(all(self.health.readiness().values())))
        self.limit = InvalidRatioLimit(
            settings.max_invalid_ratio,
            settings.invalid_window,
            settings.invalid_min_events,
            settings.invalid_allowance,
            settings.max_consecutive_invalid,
        )
        self._topic_of = {
            OutputKind.PREDICTION: topics.predictions,
            OutputKind.DEAD_LETTER: topics.dead_letter,
            OutputKind.SHADOW: topics.shadow_predictions,
        }
        self._stop = threading.Event()
        self.observer = ClientObserver(self.health, self.metrics)
        self.http_port: int | None = None
        self._server: ThreadingHTTPServer | None = None
        common = {
            **kafka.client_config(bootstrap_servers),
            "error_cb": self.observer.on_client_error,
            "statistics.interval.ms": STATISTICS_INTERVAL_MS,
            "logger": logging.getLogger("librdkafka"),
        }
        self.consumer = Consumer({**consumer_config(common, settings), "stats_cb": self.observer.on_stats})
        self.follower = ModelFollower(
            ControlReader({**kafka.client_config(bootstrap_servers), "logger": common["logger"]}, topics.model_control),
            load_ref,
            lambda role, result: self.metrics.swaps.labels(role=role, result=result).inc(),
        )
        self.transform: BatchTransform | None = None
        self.http_transform: BatchTransform | None = None  # its own: the two run on different threads
        self._events = CommitEvents(
            on_client_error=self.observer.on_client_error,
            on_retry=self.observer.on_retry,
            on_abort=self.metrics.aborted.inc,
            on_replace=self.metrics.producer_restarts.inc,
        )
        self.committer = make_committer(
            settings.exactly_once,
            self.consumer,
            producer_config(common, settings, topics),
            settings.transaction_timeout_ms / 1000,
            self._stop,
            self._events,
        )

    # --- lifecycle ----------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Finish the in-flight batch, commit it, then leave the group (called from a signal handler)."""
        self._stop.set()

    def run(self) -> int:
        """Process until stopped; return the process exit code."""
        try:
            return int(exit_code_of(self._serve_forever, log))
        finally:
            self._close()
            if self._server is not None:
                self._server.shutdown()

    def _serve_forever(self) -> None:
        predict = PredictEndpoint(
            lambda: self.http_transform, self.settings.predict_max_events, self.settings.predict_concurrency
        )
        self._server = start_health_server(
            self.settings.http_port,
            self.health,
            self.metrics.registry,
            {"/predict": predict} if self.settings.predict_concurrency else {},
            self.settings.predict_max_bytes,
        )
        self.http_port = self._server.server_address[1]
        self._await_broker()
        try:
            self.follower.start(self.settings.model_uri, self.settings.startup_timeout_s)
        except ModelVerificationError as exc:
            raise ScorerExit(ExitCode.CONFIG, f"refusing to start: {exc}") from exc
        self._serve()
        # What is loaded by now (libraries, the model) lives as long as the process: out of the collector's
        # generations, full collections do not scan it and add no latency spikes to batches.
        gc.freeze()
        log.info("scorer starting", extra=self._description())
        self.committer.start()
        self.consumer.subscribe(
            [self.topics.input],
            on_assign=self.observer.on_assign,
            on_revoke=self.observer.on_revoke,
            on_lost=self.observer.on_lost,
        )
        self._loop()
        log.info("stopping: in-flight batch committed")

    def _description(self) -> dict[str, object]:
        return {
            "model_version": self.follower.champion.version,
            "challenger_version": self.follower.challenger.version if self.follower.challenger else None,
            "guarantee": str(self.settings.processing_guarantee),
            "transactional_id": self.settings.transactional_id if self.settings.exactly_once else None,
            "input": self.topics.input,
            "group": self.settings.group_id,
            "http_port": self.http_port,
            # Without the extension the Python path scores alone: the same outputs at several times the CPU.
            "compiled_lane": native_lane.available(),
        }

    def _loop(self) -> None:
        wait_s = self.settings.batch_max_wait_ms / 1000
        while not self._stop.is_set():
            self.health.last_loop = time.monotonic()
            if self.follower.poll():  # between two batches: no batch is scored by two champions
                self._serve()
            messages = self.consumer.consume(self.settings.batch_size, timeout=wait_s)
            self._raise_on_access_error()
            records = usable_records(messages)
            if records:
                self._process(records)

    def _serve(self) -> None:
        """Score from now on with the follower's models."""
        champion, challenger = self.follower.champion, self.follower.challenger
        top = self.settings.top_contributions

        def transform() -> BatchTransform:
            return BatchTransform(
                BatchScorer(champion, top),
                challenger=BatchScorer(challenger, top) if challenger else None,
                group_id=self.settings.group_id,
                max_payload_bytes=self.settings.max_payload_bytes,
                dead_letter_max_value_bytes=self.settings.dead_letter_max_value_bytes,
            )

        self.transform, self.http_transform = transform(), transform()
        self.metrics.serving(champion, challenger)
        self.health.model_loaded = True

    def _await_broker(self) -> None:
        """Wait for the broker at start-up; fail fast on credentials or TLS, give up after the start-up timeout."""
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while not self._stop.is_set():
            try:
                self.consumer.list_topics(timeout=2)
                return
            except KafkaException:
                self.consumer.poll(0)  # serves error_cb, which classifies the failure
            self._raise_on_access_error()
            if time.monotonic() > deadline:
                raise ScorerExit(ExitCode.FATAL, f"no broker answered within {self.settings.startup_timeout_s:.0f} s")

    def _raise_on_access_error(self) -> None:
        if self.observer.access_error is not None:
            raise ScorerExit(
                ExitCode.CONFIG,
                "cannot access the broker (check KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and KAFKA_SSL_CA_LOCATION): "
                + self.observer.access_error.str(),
            )

    def _close(self) -> None:
        try:
            self.consumer.close()  # leaves the group at once, so partitions move without waiting for a timeout
        except Exception as exc:  # closing must not turn an exit into a traceback
            log.warning("closing the consumer: %s", exc)
        self.committer.close()
        self.follower.reader.close()

    # --- one batch ----------------------------------------------------------------------------------------
    def _process(self, records: Sequence[Message]) -> None:
        assert self.transform is not None, "models are chosen before the first batch"
        started = time.perf_counter()
        result = self.transform(records, datetime.now(UTC))
        self.metrics.scoring_seconds.observe(time.perf_counter() - started)
        admission = self.limit.admit(result.valid, result.invalid, result.invalid_runs)
        if admission.fail_closed:
            raise ScorerExit(
                ExitCode.INVALID_RATIO,
                f"failing closed: {admission.why}. Fix the producer; to "
                "dead-letter a burst that is understood and go on, restart once with SCORER_INVALID_ALLOWANCE set "
                f"to at least its size ({self.limit.allowance:,} left now)",
            )
        outputs = {self._topic_of[kind]: pairs for kind, pairs in result.outputs.items() if pairs}
        if self.committer.commit(outputs, result.offsets):
            self.limit.record(result.valid, admission, result.invalid_runs)
            if admission.allowed:
                log.warning(
                    "dead-lettered %d invalid events under SCORER_INVALID_ALLOWANCE (%d left)",
                    admission.allowed,
                    self.limit.allowance,
                )
            self.metrics.observe_batch(result, time.time())
        else:
            rewind(self.consumer, first_offsets(records))
