"""How a batch's outputs and input offsets are committed: exactly-once (transactions) or at-least-once.

Chosen once at start (`make_committer`). The loop hands a committer a batch's outputs and offsets and learns
only whether they were committed; if not, it re-reads the batch. Retrying, resuming, aborting and replacing
the producer happen here, as `stream_runtime.recovery.decide` says.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from stream_runtime.bounded_call import call_within, still_blocked
from stream_runtime.exits import ExitCode, ServiceExit
from stream_runtime.recovery import Action, Decision, ErrorFacts, Stage, Unsettled, decide

log = logging.getLogger("consumer")

# (key, value) pairs to produce, by output topic.
Outputs = Mapping[str, Sequence[tuple[bytes | None, bytes | None]]]
INIT_TIMEOUT_S = 30
# Abandoned producers whose offsets call never returned, at most, before the process restarts instead (each keeps
# its librdkafka threads and connections; a broker that lets calls hang this often is better met by a new process).
MAX_BLOCKED_CALLS = 3
ALO_FLUSH_TIMEOUT_S = 30


def _ignore(*_args: object) -> None:
    pass


@dataclass(frozen=True)
class CommitEvents:
    """What a committer tells its owner (metrics, readiness); every hook is optional."""

    on_client_error: Callable[[KafkaError], None] = _ignore  # every error the producer reports through error_cb
    on_retry: Callable[[str], None] = _ignore  # a call is being repeated: the broker is probably away
    on_abort: Callable[[], None] = _ignore  # a batch was not committed and will be re-read
    on_replace: Callable[[], None] = _ignore  # the producer was replaced


class Committer(Protocol):
    """Commits a batch's outputs together with its input offsets."""

    def start(self) -> None:
        """Connect (and initialise transactions) before the first batch."""

    def commit(self, outputs: Outputs, offsets: list[TopicPartition]) -> bool:
        """True when outputs and offsets are committed; False when the batch must be re-read.

        Raises `ServiceExit` when the process must stop.
        """

    def close(self) -> None:
        """Release the producer; never raises."""


def make_committer(
    exactly_once: bool,
    consumer: Consumer,
    producer_config: dict[str, Any],
    transaction_timeout_s: float,
    stop: threading.Event,
    events: CommitEvents | None = None,
) -> Committer:
    if exactly_once:
        return TransactionalCommitter(consumer, producer_config, transaction_timeout_s, stop, events or CommitEvents())
    return AtLeastOnceCommitter(consumer, producer_config, events or CommitEvents())


def produce_all(producer: Producer, outputs: Outputs) -> None:
    """Hand every output to librdkafka, waiting for room when its queue is full."""
    produce = producer.produce
    for topic, pairs in outputs.items():
        for key, value in pairs:
            try:
                produce(topic, value, key)
            except BufferError:
                while True:
                    producer.poll(0.05)  # let deliveries drain
                    try:
                        produce(topic, value, key)
                        break
                    except BufferError:
                        continue


class _Backoff:
    """Calls that block until their own timeout are repeated at once; those that fail fast back off up to 5 s."""

    def __init__(self) -> None:
        self.delay = 0.2

    def wait(self, attempt_started: float) -> None:
        time.sleep(max(self.delay - (time.monotonic() - attempt_started), 0.0))
        self.delay = min(self.delay * 2, 5.0)


class TransactionalCommitter:
    """One transaction per batch: outputs, then the input offsets, then commit.

    A timed-out commit is resumed; a failed transaction is aborted; a producer that failed fatally, or whose
    offsets call timed out, is replaced by a new one with the same transactional id, whose init_transactions()
    aborts whatever the old one left open. Fencing by a live twin ends the process.
    """

    def __init__(
        self,
        consumer: Consumer,
        producer_config: dict[str, Any],
        transaction_timeout_s: float,
        stop: threading.Event,
        events: CommitEvents,
    ) -> None:
        self._consumer = consumer
        self._config = {**producer_config, "error_cb": self._on_error}
        self._timeout_s = transaction_timeout_s
        self._stop = stop
        self._events = events
        self._background_fatal: KafkaError | None = None
        self._unsettled = Unsettled()
        self.producer = Producer(self._config)

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            self._background_fatal = error
        self._events.on_client_error(error)

    def start(self) -> None:
        self._init()
        self.producer.list_topics(timeout=10)  # connect and learn the output partitions before the first batch

    def commit(self, outputs: Outputs, offsets: list[TopicPartition]) -> bool:
        if self._background_fatal is not None:  # reported between batches: nothing of this batch is written yet
            facts = ErrorFacts.of(self._background_fatal)
            self._carry_out(self._decide(facts, Stage.BACKGROUND), facts)
        self._unsettled.begun(time.monotonic())
        failure = (
            self._attempt(Stage.PRODUCE, lambda: self._begin_and_produce(outputs))
            or self._attempt(Stage.SEND_OFFSETS, lambda: self._send_offsets(offsets))
            or self._attempt(Stage.COMMIT, lambda: self.producer.commit_transaction(self._timeout_s))
        )
        if failure is None:
            self._unsettled.settled()
            return True
        self._carry_out(*failure)
        self._events.on_abort()
        return False

    def close(self) -> None:
        """Nothing is left to deliver: every batch was committed or aborted before this call."""

    def _begin_and_produce(self, outputs: Outputs) -> None:
        self.producer.begin_transaction()
        produce_all(self.producer, outputs)

    def _send_offsets(self, offsets: list[TopicPartition]) -> None:
        producer, group, timeout = self.producer, self._consumer.consumer_group_metadata(), self._timeout_s
        call_within(
            lambda: producer.send_offsets_to_transaction(offsets, group, timeout),
            2 * timeout,
            "send_offsets_to_transaction",
        )

    def _abort(self) -> None:
        try:
            self.producer.abort_transaction(self._timeout_s)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._STATE:  # _STATE: no transaction was open
                raise

    def _decide(self, facts: ErrorFacts, stage: Stage) -> Decision:
        age = self._unsettled.age(time.monotonic())
        return decide(facts, stage, exactly_once=True, transaction_age_s=age, transaction_timeout_s=self._timeout_s)

    def _attempt(self, stage: Stage, call: Callable[[], object]) -> tuple[Decision, ErrorFacts] | None:
        """Run `call`, repeating it while the decision is to resume; None once it succeeded."""
        backoff = _Backoff()
        while True:
            attempt_started = time.monotonic()
            try:
                call()
                return None
            except KafkaException as exc:
                facts = ErrorFacts.of(exc.args[0])
            decision = self._decide(facts, stage)
            log.warning("%s failed (%s): %s", stage, facts.text, decision.why, extra={"action": decision.action})
            if decision.action is not Action.RESUME:
                return decision, facts
            if self._stop.is_set():
                raise ServiceExit(ExitCode.FATAL, f"{stage} still failing at shutdown: {facts.text}")
            self._events.on_retry(str(stage))
            backoff.wait(attempt_started)

    def _carry_out(self, decision: Decision, facts: ErrorFacts) -> None:
        while True:
            if decision.action is Action.EXIT:
                raise ServiceExit(decision.exit_code or ExitCode.FATAL, f"{decision.why}: {facts.text}")
            if decision.action is Action.ABORT_AND_REWIND:
                failure = self._attempt(Stage.ABORT, self._abort)
                if failure is None:
                    return
                decision, facts = failure
                continue
            if decision.action is Action.REPLACE_AND_REWIND:
                self._replace(facts)
            return

    def _replace(self, facts: ErrorFacts) -> None:
        blocked = still_blocked()
        if blocked >= MAX_BLOCKED_CALLS:
            raise ServiceExit(
                ExitCode.FATAL,
                f"{blocked} abandoned calls are still blocked, each holding a producer: restarting the process frees "
                f"them (after: {facts.text})",
            )
        log.warning("replacing the producer after: %s", facts.text)
        # The old producer is abandoned, not closed: a call of its may still be blocked in another thread.
        self.producer = Producer(self._config)
        self._background_fatal = None
        self._events.on_replace()
        self._init()

    def _init(self) -> None:
        failure = self._attempt(Stage.INIT, lambda: self.producer.init_transactions(INIT_TIMEOUT_S))
        if failure is not None:
            decision, facts = failure
            raise ServiceExit(decision.exit_code or ExitCode.FATAL, f"{decision.why}: {facts.text}")
        self._unsettled.settled()  # initialising aborted whatever was open, under a new epoch


class AtLeastOnceCommitter:
    """Idempotent produce, flush, then a synchronous offset commit; undelivered outputs re-read the batch."""

    def __init__(self, consumer: Consumer, producer_config: dict[str, Any], events: CommitEvents) -> None:
        self._consumer = consumer
        self._events = events
        self._failed = 0
        self._first_failure = ""
        self._background_fatal: KafkaError | None = None
        self.producer = Producer(
            {
                **producer_config,
                "error_cb": self._on_error,
                "delivery.report.only.error": True,  # a callback per failure only, not per output
                "on_delivery": self._on_delivery,
            }
        )

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            self._background_fatal = error
        self._events.on_client_error(error)

    def _on_delivery(self, error: KafkaError | None, _message: object) -> None:
        if error is not None:
            self._failed += 1
            self._first_failure = self._first_failure or error.str()

    def start(self) -> None:
        self.producer.list_topics(timeout=10)

    def commit(self, outputs: Outputs, offsets: list[TopicPartition]) -> bool:
        self._failed, self._first_failure = 0, ""
        try:
            produce_all(self.producer, outputs)
        except KafkaException as exc:
            self._exit_or(decide(ErrorFacts.of(exc.args[0]), Stage.PRODUCE, exactly_once=False))
        remaining = self.producer.flush(ALO_FLUSH_TIMEOUT_S)
        if self._background_fatal is not None:
            self._exit_or(decide(ErrorFacts.of(self._background_fatal), Stage.BACKGROUND, exactly_once=False))
        if self._failed or remaining:
            facts = ErrorFacts(KafkaError._MSG_TIMED_OUT, text=self._first_failure or f"{remaining} undelivered")
            decision = self._exit_or(decide(facts, Stage.DELIVERY, exactly_once=False))
            log.warning("%d outputs failed, %d undelivered: %s", self._failed, remaining, decision.why)
            self._events.on_abort()
            return False
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            log.warning("offset commit failed (%s): the batch may be redelivered", exc.args[0].str())
        return True

    def close(self) -> None:
        if self._background_fatal is not None:
            return  # a producer that failed fatally has nothing it can deliver
        try:
            self.producer.flush(5)
        except Exception as exc:  # closing must not turn a clean exit into a traceback
            log.warning("flushing the producer at close: %s", exc)

    @staticmethod
    def _exit_or(decision: Decision) -> Decision:
        if decision.action is Action.EXIT:
            raise ServiceExit(decision.exit_code or ExitCode.FATAL, decision.why)
        return decision


def rewind(consumer: Consumer, batch_start: list[TopicPartition]) -> None:
    """Seek each partition of the batch back to the batch's first record, so the batch is read again.

    That is where its committed offset stands: a batch is only read once the one before it was committed or
    rewound. Seeking there needs no broker, so a rewind cannot hang on a group coordinator that the client
    fails to look up again after an outage (librdkafka #5511).
    """
    for tp in batch_start:
        # A partition that is no longer ours raises: its new owner starts from the committed offset anyway.
        with contextlib.suppress(KafkaException):
            consumer.seek(tp)
