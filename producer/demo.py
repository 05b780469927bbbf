"""`make run`: two model versions trained on the flights before the replayed ones, broker, topics, scorers, a
replay of real flights with their outcomes on the simulated clock (plus a few bad events) during which the
version without the stream features is rolled out and back, a summary checked key by key, a clean stop."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import orjson
from confluent_kafka.admin import AdminClient
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from kafka_common.settings import TOPIC_NAME_FIELDS, TopicSettings
from kafka_common.topics import ensure_topics, topic_specs
from local_stack.processes import ScorerProcess
from local_stack.provider import kafka_broker
from producer.demo_models import REPLAY_FROM, demo_versions
from producer.demo_monitor import (
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


def run_demo(flights: int, consumers: int, data: Path, models: Path, console: Console, stop: StopRequest) -> int:
    """Return 0 when every event came out exactly once, every prediction joined its outcome, the stream features
    the predictions carried equal the training definition's, and every scorer stopped cleanly. A stop request
    ends it at the next step with `StopRequestedError`, the scorers, the monitor and the broker stopped on the way
    out."""
    with stop.raising():
        versions = demo_versions(data, models, console)
    kafka = KafkaSettings()
    with kafka_broker(kafka) as endpoint, tempfile.TemporaryDirectory(prefix="flightdelay-run-") as workdir:
        topics = TopicSettings()
        if endpoint.kind != "local-jvm":  # a shared broker: keep this run's records apart
            suffix = uuid.uuid4().hex[:8]
            topics = topics.model_copy(
                update={name: f"{getattr(topics, name)}.run-{suffix}" for name in TOPIC_NAME_FIELDS}
            )
        config = kafka.client_config(endpoint.bootstrap_servers)
        console.print(f"broker ({endpoint.kind}) at {endpoint.bootstrap_servers}")
        ensure_topics(AdminClient(config), topic_specs(topics))
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
            reader = committed_reader(config, [topics.predictions, topics.dead_letter, topics.shadow_predictions])
            started = time.monotonic()
            replayed, schedule = replay_schedule(data, flights, topics.input, topics.outcomes)
            sent_events = [item for item in schedule if item.topic == topics.input]
            console.print(
                f"replaying {replayed:,} flights from {REPLAY_FROM} ({len(schedule) - len(sent_events):,} outcomes "
                f"on the simulated clock, the first week's before them) and {len(BAD_EVENTS)} bad events over about "
                f"{REPLAY_SECONDS} s; the model rollout steps:"
            )
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("replaying", total=len(schedule))
                delivery = publish_with_rollout(
                    config, schedule, rollout, versions.challenger, lambda: progress.advance(task), stop
                )
            stop.raise_if_set()
            failed = delivery.failed + delivery.not_sent
            colour = "green" if failed == 0 else "red"
            console.print(f"[{colour}]published {len(schedule):,} records: {delivery.summary()}[/]")
            predictions: list[DelayPrediction] = []
            shadow: list[DelayPrediction] = []
            letters: list[DeadLetter] = []
            expected = replayed + len(BAD_EVENTS)
            with console.status("waiting for committed predictions…"):

                def done() -> bool:
                    return len(predictions) + len(letters) >= expected or stop.is_set()

                # then 2 s more: the last shadow predictions, and any duplicate
                for until, idle_s, max_s in ((done, 20, 120), (lambda: False, 2, 2)):
                    for message in read_messages(reader, until, idle_s, max_s):
                        if message.topic() == topics.shadow_predictions:
                            shadow.append(DelayPrediction.model_validate_json(message.value() or b""))
                            continue
                        output = parse_output(message, topics.predictions)
                        (predictions if isinstance(output, DelayPrediction) else letters).append(output)  # type: ignore[arg-type]
            reader.close()
            stop.raise_if_set()
            elapsed = time.monotonic() - started
            with console.status("the monitor joins each prediction with its outcome and checks its stream features…"):
                joined = await_joined(monitor, len(predictions) + len(shadow), stop)
                reports = last_reports(config, topics.model_metrics)
            monitoring = online_table(reports.figures, model_dirs), drift_lines(monitor)
            stop.raise_if_set()
            with console.status("writing the monitor's report"):
                report = write_report(config, topics, versions.champion, REPORT)
        finally:
            codes = [process.stop() for process in [*scorers, monitor]]
        _summary(console, replayed, predictions, letters, elapsed)
        console.print(versions_table(predictions, shadow))
        console.print(monitoring[0])
        console.print(
            "drift over the replayed flights (against each version's training profile):", *monitoring[1], sep=""
        )
        console.print(
            "the challenger against the champion (paired, always-valid 95 % intervals):",
            *comparison_lines(reports.comparisons),
            sep="",
        )
        console.print(
            "estimated from the probabilities (95 % intervals) -> realized by the outcomes:",
            *estimate_lines(reports),
            sep="",
        )
        carrying = [p for p in (*predictions, *shadow) if p.stream_features is not None]
        consistent = consistency_verdict(reports, len(carrying))
        console.print(
            "stream features, online against the training definition (recomputed by the monitor):",
            *consistency_lines(reports),
            f"\n  {sum(not p.stream_features_current for p in carrying):,} of {len(carrying):,} predictions "
            "scored without the departures read to their end",
            sep="",
        )
        console.print(report)
        clean = all(code == 0 for code in codes)
        console.print(
            f"scorers and monitor stopped with exit codes {codes}" + ("" if clean else " [red](not clean)[/]")
        )
        wanted = Counter(item.key.decode() for item in sent_events[:replayed] if item.key)
        exact = (
            failed == 0
            and Counter(p.flight_id for p in predictions) == wanted
            and len(letters) == len(BAD_EVENTS)
            and max(Counter(p.flight_id for p in shadow).values(), default=1) == 1
            and joined == len(predictions) + len(shadow)
        )
        if exact:
            console.print(
                f"[green]exactly once across the swaps: every flight predicted once ({len(predictions):,}), "
                f"{len(shadow):,} shadow predictions without a duplicate, {len(letters)} dead letters; "
                f"each of the {joined:,} joined with its flight's outcome[/]"
            )
        else:
            console.print(
                f"[red]expected each of {replayed:,} flights predicted once, {len(BAD_EVENTS)} dead letters, and "
                f"every prediction joined with its outcome ({joined:,} of {len(predictions) + len(shadow):,})[/]"
            )
        console.print(consistent.line)
    console.print("broker stopped; nothing left running" if endpoint.kind == "local-jvm" else "done")
    return 0 if clean and exact and consistent.ok else 1


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
