"""`make soak`: a steady stream through two scorers for 30 minutes, with SIGKILLs and a broker restart at
intervals. Every minute it samples each scorer's memory (RSS), threads, open file descriptors and abandoned Kafka
calls, and the stream's p99 latency from the input record's timestamp to the committed prediction; at the end it
checks that every event came out exactly once, by key. Writes bench/soak.json and docs/soak.md.

Scorer `a` is never killed, so its figures show whether anything grows over the whole run (the broker restart
included); scorer `b` is SIGKILLed and restarted at once every `--kill-every` minutes, with the same instance id.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import cycle
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from bench.soak_page import render
from kafka_common.console import command_app, output_console
from kafka_common.settings import TopicSettings
from kafka_common.topics import ensure_topics, topic_specs
from local_stack.broker import LocalKafkaBroker
from local_stack.processes import ScorerProcess
from producer.reading import committed_reader
from producer.replay import dataset_events
from training.manifest import resolve_model_dir

app = command_app(add_completion=False)
console = output_console()
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Sample:
    """One minute of the run."""

    minute: int
    rss_mb: dict[str, float]
    threads: dict[str, int]
    open_fds: dict[str, int]
    abandoned_calls: dict[str, int]
    outputs: int
    p99_ms: float | None
    events: list[str] = field(default_factory=list)  # the faults of that minute


class Outputs:
    """A read_committed reader of the predictions: keys seen, and latencies by minute of arrival."""

    def __init__(self, config: dict[str, Any], topic: str, started: float) -> None:
        self._reader = committed_reader(config, [topic])
        self._started = started
        self.keys: Counter[bytes] = Counter()
        self.latency_ms: dict[int, list[float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for message in self._reader.consume(1000, timeout=0.5):
                if message.error() is not None:
                    continue
                now = time.time()
                self.keys[message.key() or b""] += 1
                event_ms = orjson.loads(message.value() or b"{}").get("event_time")
                if event_ms:
                    sent = datetime.fromisoformat(event_ms).timestamp()
                    minute = int((now - self._started) // 60)
                    self.latency_ms.setdefault(minute, []).append((now - sent) * 1000)

    def drain(self, expected: int, timeout_s: float) -> None:
        """Wait for `expected` keys (at most `timeout_s`), then 5 s more, when a duplicate would arrive; close."""
        deadline = time.monotonic() + timeout_s
        while len(self.keys) < expected and time.monotonic() < deadline:
            time.sleep(1)
        time.sleep(5)
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._reader.close()


def send(config: dict[str, Any], topic: str, rate: float, stop: threading.Event, sent: list[bytes]) -> None:
    """Dataset events, each under a flight id of its own (the prediction's key), `rate` a second in steps of 10 ms,
    until `stop`."""
    producer = Producer({**config, "enable.idempotence": True, "linger.ms": 5})
    source = cycle(orjson.loads(value) for _, value in dataset_events(ROOT / "data" / "dataset_SCL.csv", limit=20_000))
    started, count = time.monotonic(), 0
    while not stop.is_set():
        due = int((time.monotonic() - started) * rate)
        while count < due:
            key = f"soak-{count}".encode()
            while True:
                try:
                    producer.produce(topic, orjson.dumps({**next(source), "flight_id": key.decode()}), key)
                    break
                except BufferError:  # the broker is away: wait for room
                    producer.poll(0.1)
            sent.append(key)
            count += 1
        producer.poll(0.01)
    producer.flush(120)


def process_figures(process: ScorerProcess) -> tuple[float, int, int, int]:
    """(RSS MB, threads, open descriptors, abandoned calls still blocked) of a live scorer."""
    pid = process.process.pid if process.process else 0
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    threads = len(os.listdir(f"/proc/{pid}/task"))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    try:
        abandoned = int(process.metric("flightdelay_abandoned_calls_blocked"))
    except OSError:
        abandoned = -1  # not answering this minute (restarting)
    return rss, threads, fds, abandoned


@dataclass
class Faults:
    """The run's schedule of faults: scorer b SIGKILLed every `kill_every` minutes (not in the last), the broker
    stopped for 10 s in minute `broker_restart_at`."""

    minutes: int
    kill_every: int
    broker_restart_at: int
    scorers: dict[str, ScorerProcess]
    broker: LocalKafkaBroker

    def inject(self, minute: int) -> list[str]:
        """Inject this minute's faults and name them."""
        faults: list[str] = []
        if minute % self.kill_every == 0 and minute < self.minutes:
            self.scorers["b"].kill()
            self.scorers["b"].start()
            faults.append("scorer b SIGKILLed and restarted")
        if minute == self.broker_restart_at:
            self.broker.stop()
            time.sleep(10)
            self.broker.start()
            faults.append("broker stopped for 10 s")
        return faults


def _minute(
    minute: int,
    started: float,
    scorers: dict[str, ScorerProcess],
    outputs: Outputs,
    faults: Faults,
) -> Sample:
    """One minute of the run: its faults half-way, then each scorer's figures and the minute's p99 at its end."""
    time.sleep(max(started + (minute - 0.5) * 60 - time.time(), 0))
    injected = faults.inject(minute)
    time.sleep(max(started + minute * 60 - time.time(), 0))
    figures = {name: process_figures(process) for name, process in scorers.items()}
    latencies = outputs.latency_ms.get(minute - 1, [])
    return Sample(
        minute=minute,
        rss_mb={name: round(f[0], 1) for name, f in figures.items()},
        threads={name: f[1] for name, f in figures.items()},
        open_fds={name: f[2] for name, f in figures.items()},
        abandoned_calls={name: f[3] for name, f in figures.items()},
        outputs=len(latencies),
        p99_ms=round(statistics.quantiles(latencies, n=100)[98], 1) if len(latencies) > 100 else None,
        events=injected,
    )


@app.command()
def main(
    minutes: Annotated[int, typer.Option(help="length of the run", min=2)] = 30,
    rate: Annotated[float, typer.Option(help="input events per second", min=1)] = 1_000,
    kill_every: Annotated[int, typer.Option(help="minutes between SIGKILLs of scorer b", min=1)] = 6,
    broker_restart_at: Annotated[int, typer.Option(help="minute the broker is stopped for 10 s")] = 15,
    out: Annotated[Path, typer.Option(help="machine-readable results")] = Path("bench/soak.json"),
    doc: Annotated[Path, typer.Option(help="the page")] = Path("docs/soak.md"),
) -> None:
    """Run the soak and write its figures."""
    model = resolve_model_dir(ROOT / "models")
    logs = ROOT / "build" / "soak"
    logs.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = []
    with LocalKafkaBroker() as broker:
        config = dict(broker.client_config())
        topics = TopicSettings.unique(f"soak-{uuid.uuid4().hex[:6]}")
        ensure_topics(AdminClient(config), topic_specs(topics))
        env = {**topics.environment(), "SCORER_GROUP_ID": f"soak-{topics.input}", "SCORER_LOG_LEVEL": "WARNING"}
        scorers = {
            name: ScorerProcess(broker.bootstrap_servers, model, logs / f"scorer-{name}.log", f"soak-{name}", env)
            for name in ("a", "b")
        }
        for process in scorers.values():
            process.start()
        for process in scorers.values():
            process.wait_ready(120)
        started = time.time()
        outputs = Outputs(config, topics.predictions, started)
        outputs.start()
        stop, sent = threading.Event(), list[bytes]()
        sender = threading.Thread(target=send, args=(config, topics.input, rate, stop, sent), daemon=True)
        sender.start()
        console.print(f"soak: {minutes} min at {rate:,.0f} events/s; scorer b killed every {kill_every} min; "
                      f"broker restarted at minute {broker_restart_at}")  # fmt: skip
        try:
            faults = Faults(minutes, kill_every, broker_restart_at, scorers, broker)
            for minute in range(1, minutes + 1):
                sample = _minute(minute, started, scorers, outputs, faults)
                samples.append(sample)
                console.print(asdict(sample))
        finally:
            stop.set()
            sender.join(180)
        outputs.drain(len(sent), 180)
        codes = {name: process.stop() for name, process in scorers.items()}
    lost = len(set(sent) - set(outputs.keys))
    duplicated = sum(count - 1 for count in outputs.keys.values() if count > 1)
    result = {
        "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "minutes": minutes, "rate": rate, "events": len(sent), "lost": lost, "duplicated": duplicated,
        "exit_codes": codes, "samples": [asdict(s) for s in samples],
    }  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    render(result, doc)
    console.print(f"{len(sent):,} events, lost {lost}, duplicated {duplicated}, exit codes {codes}; {out}, {doc}")
    if lost or duplicated or any(codes.values()):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
