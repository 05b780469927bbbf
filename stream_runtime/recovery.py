"""What to do after a Kafka error: one pure decision, so every path is a row in a table-driven test.

The committers report the error's facts, the stage that failed and how old the open transaction is; they carry
out the answer. Nothing here touches a client.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from confluent_kafka import KafkaError

from stream_runtime.exits import ExitCode

# Errors that mean "this configuration can never connect", unlike a broker that is merely away.
ACCESS_ERRORS = frozenset({KafkaError._AUTHENTICATION, KafkaError._SSL})
# An abort still timing out this many transaction timeouts after the transaction began is stuck, not waiting for a
# broker: after a broker restart librdkafka can keep its coordinator request queued and never send it.
STUCK_ABORT_TIMEOUTS = 4
# Another live instance took over our transactional id: stop, never fight it for the id.
FENCING_ERRORS = frozenset({KafkaError._FENCED, KafkaError.PRODUCER_FENCED})


class Stage(StrEnum):
    """Where the error surfaced."""

    INIT = "init"  # init_transactions
    PRODUCE = "produce"  # begin_transaction or produce() raised
    DELIVERY = "delivery"  # an output's delivery report failed, or outputs stayed undelivered
    SEND_OFFSETS = "send_offsets"  # send_offsets_to_transaction failed, timed out or overran its deadline
    COMMIT = "commit"  # commit_transaction
    ABORT = "abort"  # abort_transaction
    BACKGROUND = "background"  # reported through error_cb, between transactional calls


class Action(StrEnum):
    RESUME = "resume"  # call the same thing again: it only timed out
    ABORT_AND_REWIND = "abort_and_rewind"  # abort the transaction, re-read the batch
    REPLACE_AND_REWIND = "replace_and_rewind"  # a new producer with the same transactional id, re-read the batch
    REWIND = "rewind"  # at-least-once: nothing to abort, re-read the batch
    CONTINUE = "continue"  # nothing to do beyond logging it
    EXIT = "exit"


@dataclass(frozen=True)
class ErrorFacts:
    """What librdkafka says about an error, detached from the client (tests build these by hand)."""

    code: int
    fatal: bool = False
    retriable: bool = False
    txn_requires_abort: bool = False
    text: str = ""

    @classmethod
    def of(cls, error: KafkaError) -> ErrorFacts:
        return cls(error.code(), error.fatal(), error.retriable(), error.txn_requires_abort(), error.str())


@dataclass
class Unsettled:
    """Since when the oldest transaction not yet settled has been open: the transaction age `decide` takes.

    Only a commit, or a new producer's initialisation, settles one. An abort does not: a transaction that outlived
    transaction.timeout.ms while the broker was away may still be aborted by the coordinator when it returns, and
    that epoch bump fences the next transaction of the same producer, however young that one is.
    """

    since: float | None = None

    def begun(self, now: float) -> None:
        if self.since is None:
            self.since = now

    def settled(self) -> None:
        self.since = None

    def age(self, now: float) -> float | None:
        return None if self.since is None else now - self.since


@dataclass(frozen=True)
class Decision:
    action: Action
    why: str
    exit_code: ExitCode | None = None


def decide(
    error: ErrorFacts,
    stage: Stage,
    *,
    exactly_once: bool,
    transaction_age_s: float | None = None,
    transaction_timeout_s: float = 0.0,
) -> Decision:
    """The recovery for `error` at `stage`; `transaction_age_s` is the oldest unsettled transaction's age
    (`Unsettled`), None when none is."""
    if error.code in ACCESS_ERRORS:
        return Decision(Action.EXIT, "the broker refuses our credentials or TLS trust", ExitCode.CONFIG)
    if error.fatal:
        return _after_fatal(error, stage, exactly_once, transaction_age_s, transaction_timeout_s)
    if stage is Stage.BACKGROUND:
        return Decision(Action.CONTINUE, "a client error the client recovers from itself")
    if stage is Stage.PRODUCE:
        return Decision(Action.EXIT, "producing failed in a way that retrying cannot fix", ExitCode.FATAL)
    if not exactly_once:
        return Decision(Action.REWIND, "outputs not delivered: re-read the batch")
    stuck = transaction_age_s is not None and transaction_age_s > STUCK_ABORT_TIMEOUTS * transaction_timeout_s
    if stage is Stage.ABORT and stuck:
        # A new producer with the same transactional id aborts the open transaction as it initialises, and its
        # initialisation is resumed for as long as the broker is away.
        return Decision(Action.REPLACE_AND_REWIND, "the abort is stuck: a new producer with our id aborts it")
    if stage in (Stage.INIT, Stage.ABORT):
        return Decision(Action.RESUME, f"{stage} must complete before anything else; the broker may be away")
    only_timed_out = error.retriable and not error.txn_requires_abort
    if stage is Stage.COMMIT and only_timed_out:
        # Until a timed-out commit completes, librdkafka refuses every other transactional call, abort included.
        return Decision(Action.RESUME, "the commit timed out: resume it until it completes")
    if stage is Stage.SEND_OFFSETS and only_timed_out:
        # A resumed offsets call can block past its own timeout for good (librdkafka #5456, #5511).
        return Decision(Action.REPLACE_AND_REWIND, "the offsets call timed out: a new producer aborts the transaction")
    return Decision(Action.ABORT_AND_REWIND, "the transaction failed: abort it and re-read the batch")


def _after_fatal(
    error: ErrorFacts, stage: Stage, exactly_once: bool, transaction_age_s: float | None, transaction_timeout_s: float
) -> Decision:
    # A transaction that outlived transaction.timeout.ms (the broker was away) was aborted by the coordinator,
    # which bumped the epoch: the client reports that as fencing too, though no other instance exists.
    outlived = transaction_age_s is not None and transaction_age_s > transaction_timeout_s
    if error.code in FENCING_ERRORS and not outlived:
        return Decision(Action.EXIT, "fenced by another live instance with our transactional id", ExitCode.FATAL)
    if not exactly_once:
        return Decision(Action.EXIT, "the idempotent producer failed fatally", ExitCode.FATAL)
    if stage is Stage.INIT:
        return Decision(Action.EXIT, "a new producer failed fatally while initialising", ExitCode.FATAL)
    return Decision(Action.REPLACE_AND_REWIND, "the producer failed fatally: replace it, re-read the batch")
