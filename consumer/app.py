"""The scorer: consume a micro-batch, validate, score, produce, and commit the input offsets.

Exactly-once: outputs and input offsets are committed in one Kafka transaction per batch, so a
`read_committed` reader sees each input once across crashes and rebalances. On an abortable error the
transaction is aborted and the batch's partitions are rewound to their committed offsets; fatal errors
(e.g. a fenced producer) stop the process with a non-zero exit. At-least-once: idempotent produce, flush,
then a synchronous offset commit.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from consumer.bounded_call import call_within
from consumer.clients import consumer_config, producer_config
from consumer.encoding import prediction_json
from consumer.health import HealthState, start_health_server
from consumer.invalid_limit import InvalidRatioLimit
from consumer.metrics import ScorerMetrics
from consumer.scoring import BatchScorer, ScoredBatch
from consumer.settings import ScorerSettings
from consumer.validation import Rejection, validate_batch
from kafka_common.settings import KafkaSettings, TopicSettings
from schemas import DeadLetter, FieldError, FlightEvent, Header, SourcePosition
from training.artifact import LoadedModel

log = logging.getLogger("consumer")
T = TypeVar("T")

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_CONFIG = 2
EXIT_INVALID_RATIO = 3
# Statistics carry lag and broker state; readiness treats a report three intervals old as stale.
STATISTICS_INTERVAL_MS = 2000
# Errors that mean "this configuration can never connect", unlike a broker that is merely away.
ACCESS_ERRORS = frozenset({KafkaError._AUTHENTICATION, KafkaError._SSL})
# Another live instance took over our transactional id: stop, never fight it for the id.
FENCING_ERRORS = frozenset({KafkaError._FENCED, KafkaError.PRODUCER_FENCED})


class FatalKafkaError(RuntimeError):
    """The client cannot continue (fenced, unrecoverable); the process must exit and be replaced."""


class BrokerAccessError(RuntimeError):
    """Credentials or TLS trust are wrong: retrying will not help, so the process exits with a config error."""


class InvalidRatioExceededError(RuntimeError):
    """Too much invalid input: fail closed."""


@dataclass(frozen=True)
class Output:
    topic: str
    key: bytes | None
    value: bytes
    dead_letter_kind: str | None = None


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def next_offsets(messages: list[Message]) -> list[TopicPartition]:
    """Offsets to commit: one past the last record of each partition in the batch."""
    last: dict[tuple[str, int], int] = {}
    for message in messages:
        key = (message.topic() or "", message.partition() or 0)
        last[key] = max(last.get(key, -1), message.offset() or 0)
    return [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in sorted(last.items())]


class ScorerApp:
    """One scorer instance in the consumer group."""

    def __init__(
        self,
        settings: ScorerSettings,
        kafka: KafkaSettings,
        topics: TopicSettings,
        model: LoadedModel,
        bootstrap_servers: str | None = None,
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.model = model
        self.exactly_once = settings.processing_guarantee == "exactly_once"
        self.metrics = ScorerMetrics()
        self.metrics.model.labels(version=model.version).set(1)
        self.health = HealthState(broker_stale_after_s=3 * STATISTICS_INTERVAL_MS / 1000)
        self.health.model_loaded = True
        self.scorer = BatchScorer(model, settings.top_contributions)
        self.limit = InvalidRatioLimit(settings.max_invalid_ratio, settings.invalid_window, settings.invalid_min_events)
        self._stop = threading.Event()
        self._fatal: KafkaError | None = None
        self._access_error: KafkaError | None = None
        self.http_port: int | None = None
        base = kafka.client_config(bootstrap_servers)
        common = {
            **base,
            "error_cb": self._on_error,
            "statistics.interval.ms": STATISTICS_INTERVAL_MS,
            "logger": logging.getLogger("librdkafka"),
        }
        self.consumer = Consumer({**consumer_config(common, settings), "stats_cb": self._on_stats})
        self._producer_config = producer_config(common, settings, topics)
        self.producer = Producer(self._producer_config)

    # --- callbacks (called from librdkafka's poll in this thread) ---------------------------------------
    def _on_error(self, error: KafkaError) -> None:
        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            self.health.report_broker(False)
        if error.code() in ACCESS_ERRORS:
            self._access_error = error
        if error.fatal():
            self._fatal = error
        log.warning("kafka: %s", error.str(), extra={"code": error.name()})

    def _on_stats(self, stats_json: str) -> None:
        self.health.report_broker(self.metrics.update_from_statistics(stats_json))

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.health.assigned_partitions = len(partitions)
        self.metrics.rebalances.labels(kind="assign").inc()
        log.info("assigned", extra={"partitions": sorted(p.partition for p in partitions)})

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Each batch commits (or aborts) before the next consume(), so nothing is open here.
        self.health.assigned_partitions = 0
        self.metrics.rebalances.labels(kind="revoke").inc()
        log.info("revoked", extra={"partitions": sorted(p.partition for p in partitions)})

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.health.assigned_partitions = 0
        self.metrics.rebalances.labels(kind="lost").inc()
        log.warning("partitions lost", extra={"partitions": sorted(p.partition for p in partitions)})

    # --- lifecycle ----------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Finish the in-flight batch, commit it, then leave the group (called from a signal handler)."""
        self._stop.set()

    def run(self) -> int:
        """Process until stopped; return the process exit code."""
        server = start_health_server(self.settings.http_port, self.health, self.metrics.registry)
        self.http_port = server.server_address[1]
        log.info(
            "scorer starting",
            extra={
                "model_version": self.model.version,
                "guarantee": self.settings.processing_guarantee,
                "input": self.topics.input,
                "group": self.settings.group_id,
                "http_port": self.http_port,
            },
        )
        try:
            self._await_broker()
            if self.exactly_once:
                self.producer.init_transactions(30)
            # Connect and learn the output partitions now, not when the first batch is waiting for them.
            self.producer.list_topics(timeout=10)
            self.consumer.subscribe(
                [self.topics.input], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
            )
            wait_s = self.settings.batch_max_wait_ms / 1000
            while not self._stop.is_set():
                self.health.last_loop = time.monotonic()
                messages = self.consumer.consume(self.settings.batch_size, timeout=wait_s)
                if self._access_error is not None:
                    raise BrokerAccessError(self._access_error.str())
                if self._fatal is not None:  # reported through error_cb, outside a transaction call
                    error, self._fatal = self._fatal, None
                    self._replace_producer(error)
                    self._rewind(self.consumer.assignment())
                if messages:
                    self._process(messages)
            log.info("stopping: in-flight batch committed")
            return EXIT_OK
        except InvalidRatioExceededError as exc:
            log.error("failing closed: %s", exc)
            return EXIT_INVALID_RATIO
        except BrokerAccessError as exc:
            log.error(
                "cannot access the broker (check KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and KAFKA_SSL_CA_LOCATION): %s",
                exc,
            )
            return EXIT_CONFIG
        except (FatalKafkaError, KafkaException) as exc:
            log.error("fatal Kafka error, exiting: %s", exc)
            return EXIT_FATAL
        finally:
            self._close()
            server.shutdown()

    def _await_broker(self) -> None:
        """Wait for the broker at start-up; fail fast on credentials or TLS, give up after the start-up timeout."""
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while not self._stop.is_set():
            try:
                self.consumer.list_topics(timeout=2)
                return
            except KafkaException:
                self.consumer.poll(0)  # serves error_cb, which classifies the failure
            if self._access_error is not None:
                raise BrokerAccessError(self._access_error.str())
            if time.monotonic() > deadline:
                raise FatalKafkaError(f"no broker answered within {self.settings.startup_timeout_s:.0f} s")

    def _close(self) -> None:
        try:
            self.consumer.close()  # leaves the group at once, so partitions move without waiting for a timeout
        except (KafkaException, RuntimeError) as exc:
            log.warning("closing the consumer: %s", exc)
        try:
            self.producer.flush(5)
        except KafkaException as exc:  # a producer that failed fatally has nothing left to deliver
            log.warning("flushing the producer: %s", exc.args[0].str())

    # --- one batch ----------------------------------------------------------------------------------------
    def _process(self, messages: list[Message]) -> None:
        records: list[Message] = []
        for message in messages:
            error = message.error()
            if error is None:
                records.append(message)
            elif error.fatal():
                raise FatalKafkaError(error.str())
            else:
                log.warning("consume error: %s", error.str())
        if not records:
            return
        started = time.perf_counter()
        outputs = self._outputs(records)
        self.metrics.scoring_seconds.observe(time.perf_counter() - started)
        offsets = next_offsets(records)
        committed = (
            self._commit_transaction(outputs, offsets) if self.exactly_once else self._commit_alo(outputs, offsets)
        )
        if committed:
            now_ms = time.time() * 1000
            for message in records:
                timestamp_type, timestamp = message.timestamp()
                if timestamp_type != 0 and timestamp > 0:
                    self.metrics.latency.observe(max(now_ms - timestamp, 0) / 1000)

    def _outputs(self, records: list[Message]) -> list[Output]:
        valid: list[tuple[Message, FlightEvent]] = []
        rejected: list[tuple[Message, Rejection]] = []
        results = validate_batch(
            [message.value() for message in records], self.settings.max_payload_bytes, self.scorer.known_airlines
        )
        for message, result in zip(records, results, strict=True):
            if isinstance(result, Rejection):
                rejected.append((message, result))
            else:
                valid.append((message, result))
        self.limit.record(len(valid), len(rejected))
        if self.limit.exceeded():
            raise InvalidRatioExceededError(self.limit.describe())
        self.metrics.consumed.inc(len(records))
        self.metrics.batch_size.observe(len(records))
        valid, rejected, scored = self._score(valid, rejected)
        now = datetime.now(UTC)
        threshold = self.model.threshold
        outputs: list[Output] = []
        version = self.model.version
        for index, (message, event) in enumerate(valid):
            flight_id = event.resolved_id(message.key())
            encoded = prediction_json(
                flight_id=flight_id,
                probability=float(scored.probabilities[index]),
                threshold=threshold,
                model_version=version,
                contributions=scored.contributions[index],
                unseen=scored.unseen[index],
                scheduled_departure=event.scheduled_departure,
                event_time=datetime.fromtimestamp(message.timestamp()[1] / 1000, UTC),
                scored_at=now,
                topic=message.topic() or "",
                partition=message.partition() or 0,
                offset=message.offset() or 0,
            )
            outputs.append(Output(self.topics.predictions, flight_id.encode(), encoded))
        for message, rejection in rejected:
            value = message.value()
            letter = DeadLetter(
                error_kind=rejection.kind,
                reason=rejection.reason,
                errors=rejection.errors,
                key_base64=_b64(message.key()),
                value_base64=_b64(value) if len(value or b"") <= self.settings.dead_letter_max_value_bytes else None,
                value_bytes=len(value or b""),
                value_sha256=hashlib.sha256(value).hexdigest() if value is not None else None,
                headers=_headers(message),
                source=self._source(message),
                consumer_group=self.settings.group_id,
                dead_lettered_at=now,
            )
            outputs.append(
                Output(self.topics.dead_letter, message.key(), letter.model_dump_json().encode(), rejection.kind)
            )
        return outputs

    def _score(
        self, valid: list[tuple[Message, FlightEvent]], rejected: list[tuple[Message, Rejection]]
    ) -> tuple[list[tuple[Message, FlightEvent]], list[tuple[Message, Rejection]], ScoredBatch]:
        """Score the batch in one call; if that fails, score event by event and dead-letter the ones that fail.

        A valid event the model still cannot score is a bug to fix, but it must not stop the stream.
        """
        try:
            return valid, rejected, self.scorer.score([event for _, event in valid])
        except Exception:
            log.exception("batch scoring failed; isolating the events that cannot be scored")
        scorable: list[tuple[Message, FlightEvent]] = []
        for message, event in valid:
            try:
                self.scorer.score([event])
                scorable.append((message, event))
            except Exception as exc:  # deliberately broad: any failure makes this one event unscorable
                reason = f"valid event the model could not score: {type(exc).__name__}: {exc}"
                rejected.append(
                    (
                        message,
                        Rejection("unscorable", reason, [FieldError(field="$", error="unscorable", message=reason)]),
                    )
                )
        return scorable, rejected, self.scorer.score([event for _, event in scorable])

    @staticmethod
    def _source(message: Message) -> SourcePosition:
        return SourcePosition(
            topic=message.topic() or "", partition=message.partition() or 0, offset=message.offset() or 0
        )

    def _produce_all(self, outputs: list[Output]) -> list[KafkaError]:
        failures: list[KafkaError] = []

        def on_delivery(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                failures.append(error)

        for output in outputs:
            while True:
                try:
                    self.producer.produce(output.topic, key=output.key, value=output.value, on_delivery=on_delivery)
                    break
                except BufferError:
                    self.producer.poll(0.05)  # local queue full: let deliveries drain
                except KafkaException as exc:  # e.g. larger than message.max.bytes: retrying cannot help
                    raise FatalKafkaError(f"cannot produce to {output.topic}: {exc.args[0].str()}") from exc
        return failures

    def _commit_transaction(self, outputs: list[Output], offsets: list[TopicPartition]) -> bool:
        timeout = self.settings.transaction_timeout_ms / 1000
        started = time.monotonic()
        offsets_sent = False
        try:
            self.producer.begin_transaction()
            self._produce_all(outputs)
            group = self.consumer.consumer_group_metadata()
            producer = self.producer
            call_within(
                lambda: producer.send_offsets_to_transaction(offsets, group, timeout),
                2 * timeout,
                "send_offsets_to_transaction",
            )
            offsets_sent = True
            # A commit that timed out (the broker is away) is resumed by calling it again: until it finishes,
            # librdkafka refuses any other transactional call ("Conflicting ... already in progress"), abort too.
            self._resume("committing the transaction", lambda: self.producer.commit_transaction(timeout))
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            log.warning("transaction failed, re-reading the batch: %s", error.str())
            # A timed-out send_offsets_to_transaction is not resumed: after an outage it can block past its
            # timeout for good (librdkafka #5456, #5511). A new producer aborts the transaction instead.
            replace = error.fatal() or (not offsets_sent and error.retriable() and not error.txn_requires_abort())
            self._recover(error, offsets, time.monotonic() - started, replace)
            return False
        self._count(outputs)
        return True

    def _resume(self, what: str, call: Callable[[], None]) -> None:
        """Repeat a transactional call while it only timed out (the broker is away); other errors go up."""
        self._persist(what, call, retry_if=lambda error: error.retriable() and not error.txn_requires_abort())

    def _recover(
        self, error: KafkaError, offsets: list[TopicPartition], transaction_age_s: float, replace: bool
    ) -> None:
        """Abort the failed transaction (or replace the producer) and re-read the batch.

        Both must happen, so they outlast a broker outage; only fencing ends the process.
        """
        if replace:
            self._replace_producer(error, transaction_age_s)
        else:
            try:
                self._persist("aborting the transaction", self._abort)
            except KafkaException as exc:  # the abort itself hit a fatal error
                self._replace_producer(exc.args[0], transaction_age_s)
        self.metrics.aborted.inc()
        self._rewind(offsets)

    def _abort(self) -> None:
        try:
            self.producer.abort_transaction(self.settings.transaction_timeout_ms / 1000)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._STATE:  # _STATE: no transaction was open
                raise

    def _replace_producer(self, error: KafkaError, transaction_age_s: float | None = None) -> None:
        """After a fatal (or stuck) producer error, start a new producer with the same transactional id.

        Its init_transactions() aborts whatever the old one left open, so nothing it wrote becomes visible.
        Fencing means another live instance holds our id, and we stop; except when our own transaction had
        outlived transaction.timeout.ms (the broker was away): the coordinator then aborted it and bumped the
        epoch, which the client reports as fencing too.
        """
        timed_out = transaction_age_s is not None and transaction_age_s * 1000 > self.settings.transaction_timeout_ms
        if error.code() in FENCING_ERRORS and not timed_out:
            raise FatalKafkaError(
                f"fenced by another instance with transactional id {self.settings.transactional_id!r}: {error.str()}"
            )
        if not self.exactly_once:
            raise FatalKafkaError(f"producer failed fatally: {error.str()}")
        log.warning("replacing the producer after: %s", error.str())
        self.metrics.producer_restarts.inc()
        self.producer = Producer(self._producer_config)
        self._persist("initialising transactions", lambda: self.producer.init_transactions(30))
        self._fatal = None

    def _persist(
        self, what: str, call: Callable[[], T], retry_if: Callable[[KafkaError], bool] = lambda error: True
    ) -> T:
        """Repeat a call that must succeed eventually (the broker may be away); fatal errors are re-raised.

        Calls that block until their own timeout are repeated at once; calls that fail fast back off up to 5 s.
        """
        delay = 0.2
        while True:
            attempt_started = time.monotonic()
            try:
                return call()
            except KafkaException as exc:
                error: KafkaError = exc.args[0]
                if error.fatal() or not retry_if(error):
                    raise
                if self._stop.is_set():
                    raise FatalKafkaError(f"{what} still failing at shutdown: {error.str()}") from exc
                self.health.report_broker(False)  # callbacks are not served while we retry: say so ourselves
                log.warning("%s failed (%s); retrying", what, error.str())
                time.sleep(max(delay - (time.monotonic() - attempt_started), 0.0))
                delay = min(delay * 2, 5.0)

    def _rewind(self, offsets: list[TopicPartition]) -> None:
        """Seek the batch's partitions back to their committed offsets, so the batch is read again."""
        partitions = [TopicPartition(tp.topic, tp.partition) for tp in offsets]
        if not partitions:
            return
        committed = self._persist("reading committed offsets", lambda: self.consumer.committed(partitions, timeout=10))
        for tp in committed:
            target = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
            # A partition that is no longer ours raises: its new owner starts from the committed offset anyway.
            with contextlib.suppress(KafkaException):
                self.consumer.seek(TopicPartition(tp.topic, tp.partition, target))

    def _commit_alo(self, outputs: list[Output], offsets: list[TopicPartition]) -> bool:
        failures = self._produce_all(outputs)
        remaining = self.producer.flush(30)
        if failures or remaining:
            log.warning("%d outputs failed, %d undelivered: rewinding", len(failures), remaining)
            self._rewind(offsets)
            return False
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            log.warning("offset commit failed (%s): the batch may be redelivered", exc.args[0].str())
        self._count(outputs)
        return True

    def _count(self, outputs: list[Output]) -> None:
        """One counter update per kind and batch (a locked increment per event showed in the profile)."""
        kinds = Counter(output.dead_letter_kind for output in outputs)
        scored = kinds.pop(None, 0)
        if scored:
            self.metrics.scored.inc(scored)
        for kind, count in kinds.items():
            self.metrics.dead_lettered.labels(reason=kind).inc(count)


def _headers(message: Message) -> list[Header]:
    """Original headers, values base64-encoded (Kafka header values are bytes, or null)."""
    result: list[Header] = []
    headers = message.headers() or []
    for key, value in headers.items() if isinstance(headers, dict) else headers:
        raw = value.encode() if isinstance(value, str) else value
        result.append(Header(key=key, value_base64=_b64(raw)))
    return result
