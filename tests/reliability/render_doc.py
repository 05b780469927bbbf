"""Render docs/reliability.md from the figures the chaos and security tests wrote to build/.

.venv/bin/pytest -m "chaos or security" && .venv/bin/python -m tests.reliability.render_doc
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from tests.support.recorder import FIGURES_FILE

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"

SCENARIOS = [
    (
        "crash_single",
        "Crashes: one scorer SIGKILLed at a random point of each fifth of the stream, restarted each time (each kill"
        " found it alive with outputs still to write: `outputs_missing_at_each_kill`)",
        "test_chaos.py::test_five_sigkills_and_restarts_lose_and_duplicate_nothing",
    ),
    (
        "crash_one_of_three",
        "Crashes: 3 scorers in a group, one SIGKILLed and not restarted",
        "test_chaos.py::test_one_of_three_consumers_killed",
    ),
    (
        "rebalance_1_3_1",
        "Rebalances: 1 -> 3 -> 1 scorers while events arrive (each added scorer consumed events; the scale-in came"
        " while the input was still arriving)",
        "test_chaos.py::test_scaling_one_to_three_to_one_mid_stream",
    ),
    (
        "broker_loss",
        "Broker loss: the broker process stopped mid-stream (outputs still to come), then started again",
        "test_chaos.py::test_broker_loss_and_return",
    ),
    (
        "broker_frozen",
        "Broker frozen: the broker process SIGSTOPped for 8 s mid-stream (outputs still to come; connections open,"
        " nothing answers)",
        "test_chaos.py::test_frozen_broker_and_thaw",
    ),
    (
        "hostile_input",
        "Hostile input: hypothesis-generated and hand-written payloads mixed with valid events",
        "test_hostile_input.py::test_hostile_payloads_are_dead_lettered_and_valid_ones_scored",
    ),
]


CHECKS = [
    (
        "tampered artifact or lookup tables, manifest of another version, missing model or manifest",
        "test_model_safety.py::test_scorer_refuses_an_unverified_model",
        "exit 2 with the reason; the scorer never unpickles",
    ),
    (
        "SASL_SSL + SCRAM-SHA-512 with a test CA; credentials from the environment",
        "test_security.py::test_scorer_and_producer_use_credentials_from_the_environment",
        "every event scored",
    ),
    (
        "wrong password / missing CA (scorer)",
        "test_security.py::test_scorer_refuses_bad_credentials_or_trust_at_once",
        "exit 2 at once, reason logged",
    ),
    (
        "wrong password / missing CA / plaintext (client)",
        "test_security.py::test_refused_clients_read_nothing",
        "0 records read, error reported",
    ),
    (
        "no SCRAM password in the scorer, producer or broker logs",
        "test_security.py::test_scorer_and_producer_use_credentials_from_the_environment",
        "none found",
    ),
]


def outcome(outcomes: dict[str, str], test: str) -> str:
    """`passed`, `FAILED` or `not run` for a test, all its parameters together."""
    found = [result for name, result in outcomes.items() if name == test or name.startswith(test + "[")]
    if not found:
        return "not run"
    if any(result == "failed" for result in found):
        return "FAILED"
    return "passed" if all(result == "passed" for result in found) else "skipped"


def render(run: dict[str, Any]) -> str:
    """The page, from one run's outcomes and figures only."""
    figures: dict[str, dict[str, object]] = run["figures"]
    outcomes: dict[str, str] = run["outcomes"]
    lines = [
        "# Reliability and security",
        "",
        f"Figures measured by the `chaos` and `security` tests (part of `make test`) in one run started"
        f" {run['started']} on host `{platform.node()}` ({os.cpu_count()} cores, {platform.machine()}, Python"
        f" {platform.python_version()}); a scenario that did not run in it says so.",
        "Every scenario runs against a real Apache Kafka broker and real scorer processes; readers use",
        '`isolation.level=read_committed`. "Lost" and "duplicated" count input keys that produced no output, or',
        "more than one, in the prediction and dead-letter topics together; each valid key must come out as a",
        "prediction and each invalid one as a dead letter, and every prediction's probability must equal the",
        "pipeline's for that event computed offline. Outputs count as settled after 7 s without a new one (longer",
        "than a transaction can stay open: its 5 s timeout plus the broker's 1 s abort check).",
        'Re-run: `.venv/bin/pytest -m "chaos or security" && .venv/bin/python -m tests.reliability.render_doc`.',
        "",
    ]
    for key, title, test in SCENARIOS:
        lines += [f"## {title}", "", f"`tests/reliability/{test}`: **{outcome(outcomes, test)}**", ""]
        if key in figures:
            lines += ["| figure | value |", "| --- | --- |"]
            lines += [f"| {name.replace('_', ' ')} | {value} |" for name, value in figures[key].items()]
            lines.append("")
    lines += [
        "## Stalls, explained",
        "",
        "- A killed scorer holds its partitions until the group notices: `SCORER_SESSION_TIMEOUT_MS` (10 s). Its",
        "  open transaction blocks `read_committed` readers of those partitions until the coordinator aborts it:",
        "  `SCORER_TRANSACTION_TIMEOUT_MS` (5 s) plus the broker's abort-check interval (1 s on the local broker,",
        "  10 s by default on MSK). A restart with the same `SCORER_INSTANCE_ID` aborts it at once.",
        "- While the broker is away the scorer keeps running: `/healthz` stays 200, `/readyz` turns 503",
        "  (`broker_reachable: false`), also while the loop is blocked in a Kafka call (a broker report older than",
        "  three statistics intervals, 6 s, counts as unknown). The open transaction is aborted and the batch",
        "  re-read. A transaction that outlived its timeout comes back as a fatal, fencing-like error: the scorer",
        "  then replaces its producer (same transactional id) instead of exiting. That error can also reach the",
        "  next transaction, the batch re-read after the client aborted the first one: on the thaw the coordinator",
        "  aborts the first one on its own timeout as well, and its epoch bump fences the young one. So the age",
        "  that counts is the oldest transaction's not yet settled (committed, or cleared by a new producer's",
        "  initialisation), not the current one's (`stream_runtime.recovery.Unsettled`). A genuine twin with the same",
        "  id still makes it exit 1: a stream that commits every batch has nothing old unsettled.",
        "- Outputs resume about one session timeout after the broker returns: the group's members expired while",
        "  it was away, so the scorer rejoins before it reads again.",
        '- Meanwhile the clients knock, not hammer: librdkafka\'s "connect to any broker" for its coordinator',
        "  and metadata queries comes every half `reconnect.backoff.ms`, past each broker's exponential backoff,",
        "  so at its default 100 ms an idle scorer connected 64 times a second (a new thread each once it",
        "  re-bootstraps), 5.5 % of a core, and a monitor 23 times. Every client's configuration sets 500 ms",
        "  (`stream_runtime.settings.RECONNECT_BACKOFF_MS`): measured, 18 and 11 a second, 2.2 % and 1.0 % of a",
        "  core (2.1 % and 0.4 % idle with the broker up), and a restarted broker is seen again within a second of",
        "  its being ready (a consumer 0.3-0.4 s later than at 100 ms, a producer as soon). The broker-loss",
        "  scenario, three interleaved rounds each, resumed its outputs 0.24, 9.51 and 0.48 s after the restart at",
        "  500 ms and 9.41, 9.49 and 9.18 s at 100 ms: the group's rejoin decides, not the backoff.",
        "  `tests/unit/test_clients.py` counts a consumer's attempts: 16 in 4 s, 78 at the default.",
        "",
        "## Found by the broker-loss scenario: two ways a scorer hung",
        "",
        "The scenario once stalled in CI (a reader stuck at 9,000 of 30,000 outputs for 180 s) and failed now and",
        "then before the restart. Stack dumps of the live scorer (py-spy) and librdkafka's `eos` debug log showed two",
        "hangs, both in the transactional client calls, both handled in `consumer/committers.py` as",
        "`consumer/recovery.py` decides (`tests/unit/test_recovery.py` has a row for each):",
        "",
        "1. A `commit_transaction()` that times out while the broker is away must be called again to resume it;",
        "   until it finishes, librdkafka refuses every other transactional call, `abort_transaction()` included",
        '   ("Conflicting commit_transaction API call is already in progress"). The scorer used to give up on the',
        "   commit after five tries and then retry the abort forever. It now resumes the commit until it",
        "   completes or fails for good.",
        "2. `send_offsets_to_transaction()` can block past its own timeout, with no end, when the group",
        "   coordinator disappears under it (librdkafka issues #5456 and #5511, open in librdkafka 2.16). A",
        "   timed-out call is therefore never resumed: a new producer with the same transactional id aborts the",
        "   transaction. And the call runs with a deadline of twice its timeout (`consumer/bounded_call.py`): if it",
        "   overruns, the producer is abandoned and replaced the same way. Each abandoned call keeps a thread and its",
        "   producer (librdkafka's threads and connections) until it returns, which may be never: they are counted",
        "   (`flightdelay_abandoned_calls_blocked`), and once 3 are still blocked the scorer exits 1 instead of",
        "   abandoning another producer, so a restart frees them (`tests/unit/test_bounded_call.py`).",
        "",
        "Readiness had the same blind spot: it came from callbacks that only the blocked loop serves, so it kept",
        "reporting a reachable broker. It now expires stale reports.",
        "",
        "## Model safety and security (pass/fail)",
        "",
        "| check | test | what passing means | this run |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {check} | `{test}` | {meaning} | {outcome(outcomes, test)} |" for check, test, meaning in CHECKS]
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    if not FIGURES_FILE.exists():
        print(f"{FIGURES_FILE} is missing: run the chaos and security tests first", file=sys.stderr)
        return 1
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(json.loads(FIGURES_FILE.read_text())))
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
