"""`make run`: two model versions trained on the flights before the replayed ones, broker, topics, scorers, a
replay of real flights with their outcomes on the simulated clock (plus a few bad events) during which the
version without the stream features is rolled out and back, a summary checked key by key, a clean stop."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from kafka_common.cli_support import broker_or_exit, kafka_logger
from kafka_common.console import progress_bar
from kafka_common.settings import TOPIC_NAME_FIELDS, TopicSettings
from kafka_common.topics import ensure_topics, topic_specs
from local_stack.processes import ScorerProcess
from local_stack.provider import kafka_broker
from producer.demo_models import REPLAY_FROM, demo_versions
from producer.demo_monitor import (
    ConsistencyVerdict,
    LastReports,
    await_joined,
    comparison_lines,
    consistency_lines,
    consistency_verdict,
    drift_lines,
    estimate_lines,
    last_reports,
    online_table,
    start_monitor,
    write_report,
)
from producer.demo_rollout import Rollout, publish_with_rollout, versions_table
from producer.interrupt import StopRequest
from producer.reading import committed_reader, parse_output, read_messages
from producer.replay import Scheduled, after_outcomes_before, dataset_flights, with_outcomes
from producer.watch import prediction_table, pushes
from schemas import DeadLetter, DelayPrediction
from stream_runtime.settings import KafkaSettings
from training.manifest import read_manifest
from training.stream_backfill import DEFAULT_LEAD_MINUTES
from training.stream_features import WINDOW_DAYS

BAD_EVENTS: list[tuple[bytes, bytes]] = [
    (
        b"bad-airline",
        orjson.dumps(
            {
                "scheduled_departure": "2017-05-01T10:00:00",
                "airline_name": "Nowhere Air",
                "airline_code": "NWA",
                "flight_number": "1",
                "flight_type": "N",
                "destination": "SCFA",
            }
        ),
    ),
    (
        b"bad-type",
        orjson.dumps(
            {
                "Fecha-I": "2017-05-01 10:00:00",
                "OPERA": "Sky Airline",
                "Emp-I": "SKU",
                "Vlo-I": "11",
                "TIPOVUELO": "X",
                "Des-I": "SCFA",
            }
        ),
    ),
    (b"bad-json", b'{"Fecha-I": "2017-05-01 10:00:00", "OPERA": '),
]


BROKER_WAIT_S = 30.0  # for a KAFKA_BOOTSTRAP_SERVERS of one's own, as the tools' --timeout-s
REPLAY_SECONDS = 20  # long enough for the rollout steps to land mid-stream
REPORT = Path("build/run/monitor-report.html")  # kept after the run, beside the benchmark's build output


def replay_schedule(data: Path, flights: int, input_topic: str, outcomes_topic: str) -> tuple[int, list[Scheduled]]:
    """The first `flights` flights from `REPLAY_FROM` with their outcomes on the simulated clock, paced over
    `REPLAY_SECONDS`, then the bad events; before them, the outcomes of the longest window's days before
    `REPLAY_FROM`, so the first flights' stream features are those a live scorer would have had."""
    lead = timedelta(minutes=DEFAULT_LEAD_MINUTES)
    replayed = list(dataset_flights(data, date_from=REPLAY_FROM, limit=flights))
    stream = [
        *with_outcomes(replayed, "canonical", (input_topic, outcomes_topic), 0, lead),
        *(Scheduled(0.0, input_topic, key, value) for key, value in BAD_EVENTS),
    ]
    pace = REPLAY_SECONDS / max(len(stream), 1)
    paced = [replace(item, due_s=i * pace) for i, item in enumerate(stream)]
    return len(replayed), after_outcomes_before(paced, data, REPLAY_FROM, WINDOW_DAYS, outcomes_topic, lead)


@dataclass
class Outputs:
    """What the scorers committed for the replay, and how the replay's sending went."""

    replayed: int
    sent: Counter[str]
    failed: int
    predictions: list[DelayPrediction] = field(default_factory=list)
    shadow: list[DelayPrediction] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)
    elapsed_s: float = 0.0

    def exactly_once(self, joined: int) -> bool:
        """Each flight predicted once, each bad event dead-lettered, no shadow duplicate, every prediction joined."""
        return (
            self.failed == 0
            and Counter(p.flight_id for p in self.predictions) == self.sent
            and len(self.letters) == len(BAD_EVENTS)
            and max(Counter(p.flight_id for p in self.shadow).values(), default=1) == 1
            and joined == len(self.predictions) + len(self.shadow)
        )


@dataclass
class Findings:
    """What the monitor made of the replay."""

    joined: int
    reports: LastReports
    online: Table
    drift: list[str]
    report: str


def run_demo(flights: int, consumers: int, data: Path, models: Path, console: Console, stop: StopRequest) -> int:
    """Return 0 when every event came out exactly once, every prediction joined its outcome, the stream features
    the predictions carried equal the training definition's, and every scorer stopped cleanly. A stop request
    ends it at the next step with `StopRequestedError`, the scorers, the monitor and the broker stopped on the way
    out."""
    with stop.raising():
        versions = demo_versions(data, models, console)
    kafka = KafkaSettings()
    with kafka_broker(kafka) as endpoint, tempfile.TemporaryDirectory(prefix="flightdelay-run-") as workdir:
        topics = _run_topics(shared_broker=endpoint.kind != "local-jvm")
        config = {**kafka.client_config(endpoint.bootstrap_servers), "logger": kafka_logger()}
        console.print(f"broker ({endpoint.kind}) at {endpoint.bootstrap_servers}")
        # A KAFKA_BOOTSTRAP_SERVERS that does not answer: one line, not a traceback after 30 s of retries.
        ensure_topics(broker_or_exit(config, BROKER_WAIT_S, console), topic_specs(topics))
        env = {**topics.environment(), "SCORER_GROUP_ID": f"flightdelay-run-{uuid.uuid4().hex[:6]}"}
        rollout = Rollout(config, topics.model_control, console)
        rollout.step("champion", versions.champion)  # what an operator does once: name the first champion
        scorers = [
            ScorerProcess(
                endpoint.bootstrap_servers, versions.champion, Path(workdir) / f"scorer-{i}.log", f"run-{i}", env
            )
            for i in range(consumers)
        ]
        monitor = start_monitor(endpoint.bootstrap_servers, topics, Path(workdir), versions.champion)
        model_dirs = {read_manifest(d)["version"]: d for d in (versions.champion, versions.challenger)}
        codes: list[int] = []
        try:
            with console.status(f"starting {consumers} scorer(s) and the monitor…"):
                for scorer in scorers:
                    scorer.start()
                for process in [*scorers, monitor]:
                    with stop.raising():
                        process.wait_ready()
            console.print(f"{consumers} scorer(s) ready, following {topics.model_control}; the monitor ready")
            outputs = _replay_and_read(config, topics, data, flights, rollout, versions.challenger, console, stop)
            findings = _monitor_findings(config, topics, monitor, outputs, model_dirs, versions.champion, console, stop)
        finally:
            codes = [process.stop() for process in [*scorers, monitor]]
        consistent = _print_findings(console, outputs, findings)
        clean = all(code == 0 for code in codes)
        console.print(
            f"scorers and monitor stopped with exit codes {codes}" + ("" if clean else " [red](not clean)[/]")
        )
        exact = outputs.exactly_once(findings.joined)
        _print_exactly_once(console, outputs, findings.joined, exact)
        console.print(consistent.line)
    console.print("broker stopped; nothing left running" if endpoint.kind == "local-jvm" else "done")
    return 0 if clean and exact and consistent.ok else 1


def _run_topics(shared_broker: bool) -> TopicSettings:
    """The configured topics; on a shared broker, names of this run's own, so its records stay apart."""
    topics = TopicSettings()
    if not shared_broker:
        return topics
    suffix = uuid.uuid4().hex[:8]
    return topics.model_copy(update={name: f"{getattr(topics, name)}.run-{suffix}" for name in TOPIC_NAME_FIELDS})


def _replay_and_read(
    config: dict[str, Any],
    topics: TopicSettings,
    data: Path,
    flights: int,
    rollout: Rollout,
    challenger: Path,
    console: Console,
    stop: StopRequest,
) -> Outputs:
    """Publish the replay while the rollout steps run, then read every committed output (and 2 s more, for the
    last shadow predictions and any duplicate)."""
    reader = committed_reader(config, [topics.predictions, topics.dead_letter, topics.shadow_predictions])
    started = time.monotonic()
    replayed, schedule = replay_schedule(data, flights, topics.input, topics.outcomes)
    sent_events = [item for item in schedule if item.topic == topics.input]
    console.print(
        f"replaying {replayed:,} flights from {REPLAY_FROM} ({len(schedule) - len(sent_events):,} outcomes "
        f"on the simulated clock, the first week's before them) and {len(BAD_EVENTS)} bad events over about "
        f"{REPLAY_SECONDS} s; the model rollout steps:"
    )
    with progress_bar(console, *Progress.get_default_columns()) as progress:
        task = progress.add_task("replaying", total=len(schedule))
        delivery = publish_with_rollout(config, schedule, rollout, challenger, lambda: progress.advance(task), stop)
    stop.raise_if_set()
    failed = delivery.failed + delivery.not_sent
    colour = "green" if failed == 0 else "red"
    console.print(f"[{colour}]published {len(schedule):,} records: {delivery.summary()}[/]")
    sent = Counter(item.key.decode() for item in sent_events[:replayed] if item.key)
    outputs = Outputs(replayed, sent, failed)
    expected = replayed + len(BAD_EVENTS)
    with console.status("waiting for committed predictions…"):

        def done() -> bool:
            return len(outputs.predictions) + len(outputs.letters) >= expected or stop.is_set()

        for until, idle_s, max_s in ((done, 20, 120), (lambda: False, 2, 2)):
            for message in read_messages(reader, until, idle_s, max_s):
                if message.topic() == topics.shadow_predictions:
                    outputs.shadow.append(DelayPrediction.model_validate_json(message.value() or b""))
                    continue
                output = parse_output(message, topics.predictions)
                (outputs.predictions if isinstance(output, DelayPrediction) else outputs.letters).append(output)  # type: ignore[arg-type]
    reader.close()
    stop.raise_if_set()
    outputs.elapsed_s = time.monotonic() - started
    return outputs


def _monitor_findings(
    config: dict[str, Any],
    topics: TopicSettings,
    monitor: ScorerProcess,
    outputs: Outputs,
    model_dirs: dict[str, Path],
    champion: Path,
    console: Console,
    stop: StopRequest,
) -> Findings:
    """Wait for the monitor to join every prediction with its outcome, then read its figures and write its
    report."""
    with console.status("the monitor joins each prediction with its outcome and checks its stream features…"):
        joined = await_joined(monitor, len(outputs.predictions) + len(outputs.shadow), stop)
        reports = last_reports(config, topics.model_metrics)
    online, drift = online_table(reports.figures, model_dirs), drift_lines(monitor)
    stop.raise_if_set()
    with console.status("writing the monitor's report"):
        report = write_report(config, topics, champion, REPORT)
    return Findings(joined, reports, online, drift, report)


def _print_findings(console: Console, outputs: Outputs, findings: Findings) -> ConsistencyVerdict:
    """The summary, the versions, the monitor's figures and the consistency check; its verdict."""
    _summary(console, outputs.replayed, outputs.predictions, outputs.letters, outputs.elapsed_s)
    console.print(versions_table(outputs.predictions, outputs.shadow))
    console.print(findings.online)
    console.print(
        "drift over the replayed flights (PSI of each feature and the score against its version's training profile):",
        *findings.drift,
        sep="",
    )
    console.print(
        "the challenger against the champion (paired, always-valid 95 % intervals):",
        *comparison_lines(findings.reports.comparisons),
        sep="",
    )
    console.print(
        "estimated from the probabilities (95 % intervals) -> realized by the outcomes:",
        *estimate_lines(findings.reports),
        sep="",
    )
    carrying = [p for p in (*outputs.predictions, *outputs.shadow) if p.stream_features is not None]
    console.print(
        "stream features, online against the training definition (recomputed by the monitor):",
        *consistency_lines(findings.reports),
        f"\n  {sum(not p.stream_features_current for p in carrying):,} of {len(carrying):,} predictions "
        "scored without the departures read to their end",
        sep="",
    )
    console.print(findings.report)
    return consistency_verdict(findings.reports, len(carrying))


def _print_exactly_once(console: Console, outputs: Outputs, joined: int, exact: bool) -> None:
    if exact:
        console.print(
            f"[green]exactly once across the swaps: every flight predicted once ({len(outputs.predictions):,}), "
            f"{len(outputs.shadow):,} shadow predictions without a duplicate, {len(outputs.letters)} dead letters; "
            f"each of the {joined:,} joined with its flight's outcome[/]"
        )
    else:
        console.print(
            f"[red]expected each of {outputs.replayed:,} flights predicted once, {len(BAD_EVENTS)} dead letters, "
            f"and every prediction joined with its outcome ({joined:,} of "
            f"{len(outputs.predictions) + len(outputs.shadow):,})[/]"
        )


def _summary(
    console: Console, flights: int, predictions: list[DelayPrediction], letters: list[DeadLetter], elapsed: float
) -> None:
    table = Table(title="summary", show_header=False)
    delayed = sum(p.delayed for p in predictions)
    table.add_row("flights replayed", f"{flights:,}")
    table.add_row("predictions (read_committed)", f"{len(predictions):,}")
    table.add_row("predicted delayed", f"{delayed:,} ({delayed / max(len(predictions), 1):.1%})")
    mean = sum(p.delay_probability for p in predictions) / max(len(predictions), 1)
    table.add_row("mean delay_probability", f"{mean:.3f}")
    table.add_row(
        "dead letters",
        f"{len(letters)}: " + ", ".join(f"{k} x{v}" for k, v in Counter(d.error_kind for d in letters).items()),
    )
    table.add_row("replay to last output", f"{elapsed:.1f} s")
    console.print(table)
    examples = sorted(predictions, key=lambda p: -p.delay_probability)[:3] + predictions[:2]
    console.print(prediction_table(examples, "example predictions"))
    for p in examples[:3]:
        reasons = "; ".join(f"{c.feature} {c.log_odds:+.2f} ({pushes(c.log_odds)})" for c in p.top_contributions)
        console.print(f"  {p.flight_id}: P(delay)={p.delay_probability:.2f} because {reasons}")
    for letter in letters:
        position = f"partition {letter.source.partition}, offset {letter.source.offset}"
        console.print(f"  dead letter at {position}: [yellow]{letter.error_kind}[/] {letter.reason}")
