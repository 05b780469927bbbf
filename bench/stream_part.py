"""The bench's stream-features part: the scorer serving a version with stream features against the passthrough.

The input holds the preloaded flights as a replay sends them (each known an hour before its departure, by the
simulated clock's header), and a departures topic holds every one of their outcomes, so each event's windows
hold what that moment knew. Contenders drain the same topic in interleaved rounds (passthrough, the scorer with
the event-only model, the scorer with the stream model, again...), because one drain of a few seconds per
contender does not replicate on shared cores: each ratio is the median of the rounds', printed with its range.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from itertools import cycle, islice
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from bench.measure import create_topics, fresh
from bench.report import ratio
from producer.replay import Scheduled, dataset_flights, publish_schedule, with_outcomes
from training.stream_backfill import DEFAULT_LEAD_MINUTES

MODES = ("eos", "alo")
BASELINE = "passthrough"
CONTENDERS = (BASELINE, "scorer", "scorer+stream")  # the order of each round
Run = Callable[[str, str], dict[str, Any]]  # (contender, mode) -> its outcome, as `bench.run.run_contender` gives


@dataclass(frozen=True)
class Spread:
    """A ratio over rounds: its median and range."""

    median: float
    low: float
    high: float
    rounds: int

    def __str__(self) -> str:
        return f"{self.median:.2f} [{self.low:.2f}, {self.high:.2f}] over {self.rounds} rounds"

    def as_dict(self) -> dict[str, float | int]:
        return {"median": self.median, "min": self.low, "max": self.high, "rounds": self.rounds}


def spread(values: Iterable[float | None]) -> Spread | None:
    """The median and range of the ratios measured (a round that measured none is left out); None without any."""
    measured = [v for v in values if v is not None]
    if not measured:
        return None
    return Spread(
        round(statistics.median(measured), 2), round(min(measured), 2), round(max(measured), 2), len(measured)
    )


def round_ratios(rounds: list[dict[str, dict[str, dict[str, Any]]]]) -> dict[str, dict[str, dict[str, Spread | None]]]:
    """`rounds[i][mode][contender]` outcomes -> per contender and mode, the spread of its ratios to the same
    round's passthrough: `cpu` (CPU seconds per event) and `throughput` (events per second)."""
    figures = {"cpu": "cpu_s_per_million", "throughput": "eps"}
    summary: dict[str, dict[str, dict[str, Spread | None]]] = {}
    for contender in CONTENDERS[1:]:
        for mode in MODES:
            for name, key in figures.items():
                ratios = [ratio(r[mode][contender].get(key), r[mode][BASELINE].get(key)) for r in rounds]
                summary.setdefault(contender, {}).setdefault(mode, {})[name] = spread(ratios)
    return summary


def as_json(ratios: dict[str, dict[str, dict[str, Spread | None]]]) -> dict[str, Any]:
    """`round_ratios`' answer as results.json keeps it."""
    return {
        contender: {
            mode: {name: None if figure is None else figure.as_dict() for name, figure in figures.items()}
            for mode, figures in modes.items()
        }
        for contender, modes in ratios.items()
    }


def thread_medians(rounds: list[dict[str, dict[str, dict[str, Any]]]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per contender (the passthrough too) and mode, the median over the rounds of its CPU seconds per million
    events in each kind of thread (`bench.measure.thread_kind`): where a ratio's gap lies."""
    medians: dict[str, dict[str, dict[str, float]]] = {}
    for contender in CONTENDERS:
        for mode in MODES:
            split = [r[mode][contender].get("cpu_s_per_million_by_thread") for r in rounds]
            measured = [figures for figures in split if figures]
            if measured:
                medians.setdefault(contender, {})[mode] = {
                    kind: round(statistics.median(figures[kind] for figures in measured), 2) for kind in measured[0]
                }
    return medians


def stream_topics(config: dict[str, Any], admin: Any, data: Path, events: int) -> tuple[str, str, float]:
    """(input, departures, seconds): `events` flight events cycled from the dataset's, each with its simulated
    moment, and every dataset flight's outcome on the departures topic."""
    source, departures = fresh("stream-input"), fresh("stream-departures")
    create_topics(admin, source, departures)
    lead = timedelta(minutes=DEFAULT_LEAD_MINUTES)
    schedule = with_outcomes(dataset_flights(data), "canonical", (source, departures), 0, lead)
    outcomes = [item for item in schedule if item.topic == departures]
    flights = [item for item in schedule if item.topic == source]
    producer = Producer(
        {**config, "enable.idempotence": True, "linger.ms": 50, "batch.size": 1_000_000,
         "compression.type": "lz4", "queue.buffering.max.messages": 500_000}
    )  # fmt: skip
    started = time.monotonic()
    for part in (outcomes, islice(cycle(flights), events)):
        report = publish_schedule(producer, _at_once(part))
        if report.failed:
            raise RuntimeError(f"preloading the stream topics failed: {report.first_error}")
    return source, departures, time.monotonic() - started


def _at_once(items: Iterable[Scheduled]) -> Iterator[Scheduled]:
    """Every record due now and sent without waiting for the ones before it: the outcomes are all delivered
    before the first event is sent, as the topics are filled one after the other."""
    for item in items:
        yield Scheduled(0.0, item.topic, item.key, item.value, item.headers)


def train_stream(data: Path, out: Path, logs: Path) -> Path:
    """A version with the stream features, trained by the project's CLI."""
    with (logs / "training-stream.log").open("wb") as log:
        subprocess.run(
            [str(Path(sys.executable).parent / "training"), "fit", "--data", str(data), "--out", str(out),
             "--stream-features"],
            check=True, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return out


def interleaved(rounds: int, run: Run, on_outcome: Callable[[int, str, str, dict[str, Any]], None]) -> list[Any]:
    """`rounds` rounds; in each, every mode, every contender in `CONTENDERS` order."""
    measured: list[dict[str, dict[str, dict[str, Any]]]] = []
    for number in range(1, rounds + 1):
        this: dict[str, dict[str, dict[str, Any]]] = {mode: {} for mode in MODES}
        for mode in MODES:
            for contender in CONTENDERS:
                outcome = run(contender, mode)
                this[mode][contender] = outcome
                on_outcome(number, contender, mode, outcome)
        measured.append(this)
    return measured
