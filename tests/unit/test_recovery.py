"""Every recovery path seen in the chaos runs, as one row each: the error's facts and stage in, the action out."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from stream_runtime.exits import ExitCode
from stream_runtime.recovery import Action, ErrorFacts, Stage, Unsettled, decide

TIMEOUT_S = 5.0
TIMED_OUT = ErrorFacts(KafkaError._TIMED_OUT, retriable=True)
ABORTABLE = ErrorFacts(KafkaError._STATE, txn_requires_abort=True)
FENCED = ErrorFacts(KafkaError._FENCED, fatal=True)
PRODUCER_FENCED = ErrorFacts(KafkaError.PRODUCER_FENCED, fatal=True)
FATAL = ErrorFacts(KafkaError._FATAL, fatal=True)
TOO_LARGE = ErrorFacts(KafkaError.MSG_SIZE_TOO_LARGE)
AUTHENTICATION = ErrorFacts(KafkaError._AUTHENTICATION)

CASES = [
    # (why, facts, stage, exactly-once, transaction age in s or None, action, exit code)
    (
        "offsets call timed out: never resumed",
        TIMED_OUT,
        Stage.SEND_OFFSETS,
        True,
        5.1,
        Action.REPLACE_AND_REWIND,
        None,
    ),
    ("offsets call overran its deadline", TIMED_OUT, Stage.SEND_OFFSETS, True, 10.2, Action.REPLACE_AND_REWIND, None),
    ("offsets call refused, abortable", ABORTABLE, Stage.SEND_OFFSETS, True, 0.1, Action.ABORT_AND_REWIND, None),
    ("commit timed out: resumed", TIMED_OUT, Stage.COMMIT, True, 5.2, Action.RESUME, None),
    ("commit failed, abortable", ABORTABLE, Stage.COMMIT, True, 0.2, Action.ABORT_AND_REWIND, None),
    ("abort timed out: resumed", TIMED_OUT, Stage.ABORT, True, 6.0, Action.RESUME, None),
    ("abort timed out, long stuck: replaced", TIMED_OUT, Stage.ABORT, True, 20.1, Action.REPLACE_AND_REWIND, None),
    ("abort failed fatally", FATAL, Stage.ABORT, True, 6.0, Action.REPLACE_AND_REWIND, None),
    ("fenced by a live twin", FENCED, Stage.COMMIT, True, 0.3, Action.EXIT, ExitCode.FATAL),
    (
        "fenced by a live twin (broker's code)",
        PRODUCER_FENCED,
        Stage.SEND_OFFSETS,
        True,
        0.3,
        Action.EXIT,
        ExitCode.FATAL,
    ),
    (
        "'fenced' after outliving the timeout",
        PRODUCER_FENCED,
        Stage.COMMIT,
        True,
        12.0,
        Action.REPLACE_AND_REWIND,
        None,
    ),
    ("'fenced' after outliving it (client)", FENCED, Stage.ABORT, True, 9.0, Action.REPLACE_AND_REWIND, None),
    ("fatal error through error_cb", FATAL, Stage.BACKGROUND, True, None, Action.REPLACE_AND_REWIND, None),
    ("fencing through error_cb", FENCED, Stage.BACKGROUND, True, None, Action.EXIT, ExitCode.FATAL),
    ("non-fatal error through error_cb", TIMED_OUT, Stage.BACKGROUND, True, None, Action.CONTINUE, None),
    ("produce error retrying cannot fix", TOO_LARGE, Stage.PRODUCE, True, 0.1, Action.EXIT, ExitCode.FATAL),
    ("fatal error while producing", FATAL, Stage.PRODUCE, True, 0.1, Action.REPLACE_AND_REWIND, None),
    ("init while the broker is away", TIMED_OUT, Stage.INIT, True, None, Action.RESUME, None),
    ("init fails fatally", FATAL, Stage.INIT, True, None, Action.EXIT, ExitCode.FATAL),
    ("wrong credentials, any stage", AUTHENTICATION, Stage.COMMIT, True, 0.1, Action.EXIT, ExitCode.CONFIG),
    ("at-least-once: undelivered outputs", TIMED_OUT, Stage.DELIVERY, False, None, Action.REWIND, None),
    ("at-least-once: produce error", TOO_LARGE, Stage.PRODUCE, False, None, Action.EXIT, ExitCode.FATAL),
    ("at-least-once: fatal producer", FATAL, Stage.BACKGROUND, False, None, Action.EXIT, ExitCode.FATAL),
]


@pytest.mark.parametrize(
    ("facts", "stage", "exactly_once", "age_s", "action", "exit_code"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_recovery_decision(
    facts: ErrorFacts,
    stage: Stage,
    exactly_once: bool,
    age_s: float | None,
    action: Action,
    exit_code: ExitCode | None,
) -> None:
    decision = decide(facts, stage, exactly_once=exactly_once, transaction_age_s=age_s, transaction_timeout_s=TIMEOUT_S)
    assert (decision.action, decision.exit_code) == (action, exit_code)
    assert decision.why


def test_every_stage_and_fact_combination_has_an_answer() -> None:
    """No combination raises or leaves the process without a next step."""
    facts = [TIMED_OUT, ABORTABLE, FENCED, PRODUCER_FENCED, FATAL, TOO_LARGE, AUTHENTICATION]
    for fact in facts:
        for stage in Stage:
            for exactly_once in (True, False):
                for age in (None, 0.1, 60.0):
                    decision = decide(
                        fact, stage, exactly_once=exactly_once, transaction_age_s=age, transaction_timeout_s=TIMEOUT_S
                    )
                    assert (decision.action is Action.EXIT) == (decision.exit_code is not None)
                    if not exactly_once:
                        assert decision.action not in (Action.ABORT_AND_REWIND, Action.REPLACE_AND_REWIND)


# (why, what happened: (what, when in s), when the error came, the age `decide` is given)
UNSETTLED_CASES = [
    ("nothing begun", [], 10.0, None),
    ("one transaction open", [("begun", 2.0)], 10.0, 8.0),
    ("committed: nothing open", [("begun", 2.0), ("settled", 2.5)], 10.0, None),
    ("aborted, the batch begun again: the first still counts", [("begun", 2.0), ("begun", 9.0)], 10.0, 8.0),
    ("committed, then the next batch", [("begun", 2.0), ("settled", 2.5), ("begun", 9.5)], 10.0, 0.5),
    ("a new producer initialised: nothing open", [("begun", 2.0), ("begun", 9.0), ("settled", 9.5)], 10.0, None),
]


@pytest.mark.parametrize(
    ("steps", "now", "age_s"), [case[1:] for case in UNSETTLED_CASES], ids=[case[0] for case in UNSETTLED_CASES]
)
def test_the_transaction_age_is_the_oldest_unsettled_ones(
    steps: list[tuple[str, float]], now: float, age_s: float | None
) -> None:
    unsettled = Unsettled()
    for step, at in steps:
        if step == "begun":
            unsettled.begun(at)
        else:
            unsettled.settled()
    assert unsettled.age(now) == age_s


def test_fencing_after_the_broker_froze_mid_transaction_replaces_and_a_twin_still_ends_the_process() -> None:
    """The broker froze in a transaction begun at 0 s; the client aborted it when it failed at 7 s, and re-read the
    batch at 8 s; on the thaw the coordinator aborted the first one on its own timeout too, bumping the epoch, so
    the young second transaction is 'fenced' at 9 s. That is no twin: replace the producer. A stream that commits
    every batch and is fenced has a twin: it stops."""
    frozen, healthy = Unsettled(), Unsettled()
    frozen.begun(0.0)
    frozen.begun(8.0)  # the batch again, after the abort
    healthy.begun(0.0)
    healthy.settled()
    healthy.begun(8.9)
    decisions = [
        decide(FENCED, Stage.SEND_OFFSETS, exactly_once=True, transaction_age_s=age, transaction_timeout_s=TIMEOUT_S)
        for age in (frozen.age(9.0), healthy.age(9.0))
    ]
    assert [(d.action, d.exit_code) for d in decisions] == [
        (Action.REPLACE_AND_REWIND, None),
        (Action.EXIT, ExitCode.FATAL),
    ]
