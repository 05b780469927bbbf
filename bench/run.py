"""`make bench`: every contender on the same preloaded topic, in both modes, side by side in one session.

Throughput is committed input records per second, from the contender's first commit to its last (start-up is
left out, and reported as wall time); a contender too slow to finish within its time cap is measured on the
records it committed by then, and the table says so. Latency is measured by a read_committed reader of the
predictions against the input record's timestamp, at fixed input rates.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import cycle, islice
from pathlib import Path
from typing import Annotated, Any

import confluent_kafka
import typer
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from rich.table import Table

from bench.measure import (
    ROOT,
    THREAD_KINDS,
    LatencyReader,
    ProcessCost,
    Progress,
    create_topics,
    follow,
    fresh,
    percentiles,
    spawn,
    stop,
)
from bench.report import render, shown_ratio, targets
from bench.stream_part import as_json, interleaved, round_ratios, stream_topics, thread_medians, train_stream
from consumer.settings import ScorerSettings
from kafka_common.console import command_app, output_console
from kafka_common.model_control import write_control
from local_stack.broker import LocalKafkaBroker, free_port, kafka_version
from producer.replay import dataset_events, publish
from schemas.model_control import ModelControl, ModelRef, ModelRole
from training.manifest import file_sha256, resolve_model_dir
from training.model_store import copy_as_version

console = output_console()
app = command_app(add_completion=False, help=__doc__)
MODES = ("eos", "alo")
RATES = (1_000, 5_000, 20_000)
BATCH_SIZES = (50, 200, 500, 2_000, 5_000)
SHIPPED_BATCH = int(ScorerSettings.model_fields["batch_size"].default)  # the scorer as shipped; passthrough too
PARTS = "throughput,sweep,latency,rest,predict,stream"
WARMUP_S = 2  # seconds of input at the same rate before latencies are recorded
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"


@dataclass
class Session:
    config: dict[str, Any]
    admin: AdminClient
    models: Path
    logs: Path
    input: str
    events: int
    challenger: Path  # another version of the same model, for the contender that scores one in shadow
    stream_models: Path | None = None  # a version with stream features, for the contender that serves it
    departures: str = ""  # the outcomes it reads them from

    @property
    def bootstrap(self) -> str:
        return str(self.config["bootstrap.servers"])


def scorer_args(
    session: Session, mode: str, group: str, output: str, batch_size: int, port: int = 0, control: str = ""
) -> dict[str, str]:
    return {
        "TOPIC_SHADOW_PREDICTIONS": f"{output}.shadow",
        "TOPIC_MODEL_CONTROL": control or f"{output}.control",  # none: the scorer serves MODEL_URI
        "KAFKA_BOOTSTRAP_SERVERS": session.bootstrap,
        "MODEL_URI": str(session.models),
        "TOPIC_INPUT": session.input,
        "TOPIC_PREDICTIONS": output,
        "TOPIC_DEAD_LETTER": f"{output}.dlq",
        "SCORER_GROUP_ID": group,
        "SCORER_INSTANCE_ID": group,
        "SCORER_PROCESSING_GUARANTEE": "exactly_once" if mode == "eos" else "at_least_once",
        "SCORER_BATCH_SIZE": str(batch_size),
        "SCORER_HTTP_PORT": str(port),
        "SCORER_LOG_LEVEL": "WARNING",
    }


def run_contender(
    session: Session, name: str, mode: str, cap_s: float, batch_size: int = SHIPPED_BATCH
) -> dict[str, Any]:
    """Start one contender on a fresh group and output topic; follow its commits; stop it."""
    safe = name.replace("+", "-")  # topic and group names allow no "+"
    group, output = fresh(f"{safe}-{mode}"), fresh(f"{safe}-{mode}-out")
    create_topics(session.admin, output, f"{output}.dlq")
    log = session.logs / f"{name}-{mode}-{batch_size}.log"
    if name == "scorer":
        process = spawn("consumer", [], log, env=scorer_args(session, mode, group, output, batch_size))
    elif name == "scorer+stream":
        assert session.stream_models is not None and session.departures, "the stream part sets them"
        env = scorer_args(session, mode, group, output, batch_size)
        env |= {"MODEL_URI": str(session.stream_models), "TOPIC_OUTCOMES": session.departures}
        process = spawn("consumer", [], log, env=env)
    elif name == "scorer+challenger":
        control = f"{output}.control"
        create_topics(session.admin, f"{output}.shadow", control)
        challenger = ModelRef(
            version=session.challenger.name,
            uri=str(session.challenger),
            manifest_sha256=file_sha256(session.challenger / "manifest.json"),
        )
        record = ModelControl(
            role=ModelRole.CHALLENGER, model=challenger, requested_at=datetime.now(UTC), requested_by="bench"
        )
        write_control(session.config, control, record)
        env = scorer_args(session, mode, group, output, batch_size, control=control)
        process = spawn("consumer", [], log, env=env)
    else:
        module = {"passthrough": "bench.passthrough", "naive": "bench.naive", "quixstreams": "bench.quix_app"}[name]
        args = ["--bootstrap", session.bootstrap, "--input", session.input, "--output", output, "--group", group,
                "--mode", mode, "--models", str(session.models), "--batch-size", str(batch_size)]  # fmt: skip
        python = str(BENCH_PYTHON) if name == "quixstreams" else None
        process = spawn(module, args, log, python=python)
    cost = ProcessCost(process.pid)
    started = time.monotonic()
    try:
        progress = follow(session.config, group, session.input, session.events, cap_s, on_sample=cost)
        wall_s = time.monotonic() - started
        alive = process.poll() is None
        result = summarize(progress, session.events, wall_s, cost if alive else None)
        if not alive and not result["completed"]:
            result["error"] = f"exited with {process.returncode}; see {log}"
        if name == "scorer+challenger":  # proof that the challenger scored: its records on the shadow topic
            result["shadow_records"] = records_in(session.config, f"{output}.shadow")
        return result
    finally:
        stop(process)


def records_in(config: dict[str, Any], topic: str) -> int:
    """Records on every partition of `topic` (offsets written, transaction markers included: an upper bound)."""
    consumer = Consumer({**config, "group.id": fresh("count")})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(
            high - low
            for low, high in (consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in partitions)
        )
    finally:
        consumer.close()


def summarize(progress: Progress, total: int, wall_s: float, cost: ProcessCost | None) -> dict[str, Any]:
    eps, counted, seconds = progress.rate(total)
    done = progress.samples[-1][1] if progress.samples else 0
    result: dict[str, Any] = {
        "eps": round(eps),
        "events_counted": counted,
        "seconds": round(seconds, 2),
        "wall_s": round(wall_s, 1),
        "completed": done >= total,
    }
    cpu = progress.cpu_per_event()
    if cost is not None and cpu is not None:
        result["cpu_s_per_million"] = round(cpu * 1e6, 1)
        by_thread = progress.cpu_per_event_by_thread()
        if by_thread is not None:
            result["cpu_s_per_million_by_thread"] = {kind: round(value * 1e6, 2) for kind, value in by_thread.items()}
        result["peak_rss_mb"] = round(cost.peak_rss_mb(), 1)
    return result


def preload(session: Session, data: Path) -> float:
    """Fill the input topic with `events` dataset events (the 68,206 flights, cycled); returns seconds."""
    source = list(dataset_events(data))
    producer = Producer(
        {**session.config, "enable.idempotence": True, "linger.ms": 50, "batch.size": 1_000_000,
         "compression.type": "lz4", "queue.buffering.max.messages": 500_000}
    )  # fmt: skip
    started = time.monotonic()
    report = publish(producer, session.input, islice(cycle(source), session.events))
    if report.failed:
        raise RuntimeError(f"preloading failed: {report.first_error}")
    return time.monotonic() - started


def wait_ready(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"scorer on port {port} not ready after {timeout_s:.0f} s")


def latency_run(
    session: Session,
    mode: str,
    rate: int,
    seconds: float,
    data: Path,
    contender: str = "scorer",
    ad_hoc: bool = False,
) -> dict[str, Any]:
    """A contender on fresh topics; input at a fixed rate; read_committed latency of every output.

    `output_eps` is the outputs' rate from the first input sent to the last output seen, `input_eps` the inputs'
    from the first sent to the last: a contender that keeps up matches the input rate but for its last latency.
    """
    source, output = fresh(f"lat-{mode}-{rate}"), fresh(f"lat-{mode}-{rate}-out")
    group = fresh(f"lat-{contender}-{mode}")
    create_topics(session.admin, source, output, f"{output}.dlq")
    log = session.logs / f"latency-{contender}-{mode}-{rate}.log"
    port = free_port()
    if contender == "scorer":
        env = {**scorer_args(session, mode, group, output, SHIPPED_BATCH, port), "TOPIC_INPUT": source}
        process = spawn("consumer", [], log, env=env)
        reader = LatencyReader(session.config, output)
    else:
        args = ["--bootstrap", session.bootstrap, "--input", source, "--output", output, "--group", group,
                "--mode", mode, "--batch-size", str(SHIPPED_BATCH)]  # fmt: skip
        process = spawn("bench.passthrough", args, log)
        reader = LatencyReader(session.config, output, input_topic=source)  # copies carry no event time
    try:
        if contender == "scorer":
            wait_ready(port)
        producer = Producer({**session.config, "enable.idempotence": True, "linger.ms": 5, "compression.type": "lz4"})
        source_events = list(islice(cycle(dataset_events(data, limit=20_000)), int(rate * (seconds + WARMUP_S))))
        source_events = [(str(i).encode(), value) for i, (_, value) in enumerate(source_events)]  # unique keys
        warmup = int(rate * WARMUP_S)
        publish(producer, source, source_events[:warmup], rate=rate)  # a running service is warm: JIT, caches
        reader.wait_for(warmup, 60)
        reader.latencies_ms.clear()
        count = len(source_events) - warmup
        requests: dict[str, int] = {}
        clients = threading.Thread(target=_post_predict, args=(port, data, seconds, requests)) if ad_hoc else None
        started = time.monotonic()
        if clients is not None:
            clients.start()
        publish(producer, source, source_events[warmup:], rate=rate)
        achieved = count / (time.monotonic() - started)
        if clients is not None:
            clients.join()
        complete = reader.wait_for(count, 120)
        return {
            **percentiles(reader.latencies_ms),
            "input_eps": round(achieved),
            "output_eps": round(len(reader.latencies_ms) / (reader.last_seen_s - started)) if complete else None,
            "events": count,
            "complete": complete,
            "samples": reader.latencies_ms,
            **requests,
        }
    finally:
        reader.close()
        stop(process)


def _post_predict(port: int, data: Path, seconds: float, out: dict[str, int]) -> None:
    """Four clients posting 100 flights per request to the scorer's `POST /predict` for `seconds`."""
    from bench.rest_seed import load

    values = [value for _, value in dataset_events(data, limit=2_000)]
    bodies = [b"[" + b",".join(values[i : i + 100]) + b"]" for i in range(0, len(values), 100)]
    answered, refused = load(port, bodies, seconds, threads=4)
    out.update(predict_requests_answered=answered, predict_requests_refused=refused)


def predict_part(session: Session, seconds: float, data: Path, results: dict[str, Any]) -> None:
    """The stream's latency at 5,000 events/s with and without ad-hoc `POST /predict` traffic, side by side."""
    runs: dict[str, Any] = {}
    for name, ad_hoc in (("stream alone", False), ("with POST /predict", True)):
        with console.status(f"latency at 5,000/s, {name}"):
            outcome = latency_run(session, "eos", 5_000, seconds, data, "scorer", ad_hoc)
        outcome.pop("samples")
        runs[name] = outcome
        console.print(f"{name}: {outcome}")
    results["predict_load"] = runs
    table = Table(title="exactly-once, 5,000 events/s: does ad-hoc scoring slow the stream?")
    for column in ("run", "p50 ms", "p99 ms", "outputs/s", "/predict answered", "/predict busy (429)"):
        table.add_column(column)
    for name, outcome in runs.items():
        table.add_row(
            name,
            str(outcome["p50"]),
            str(outcome["p99"]),
            str(outcome["output_eps"]),
            str(outcome.get("predict_requests_answered", "-")),
            str(outcome.get("predict_requests_refused", "-")),
        )
    console.print(table)


def rest_run(session: Session, data: Path, seconds: float) -> dict[str, Any]:
    from bench.rest_seed import load

    port = free_port()
    process = spawn(
        "bench.rest_seed", ["--port", str(port), "--models", str(session.models)], session.logs / "rest.log"
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        bodies = [value for _, value in dataset_events(data, limit=2_000)]
        answered, failed = load(port, bodies, seconds)
        return {"fps": round(answered / seconds, 1), "answered": answered, "failed": failed, "seconds": seconds}
    finally:
        stop(process)


def train(data: Path, out: Path, logs: Path) -> tuple[Path, float]:
    started = time.monotonic()
    with (logs / "training.log").open("wb") as log:
        subprocess.run(
            [str(Path(sys.executable).parent / "training"), "fit", "--data", str(data), "--out", str(out)],
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return out, time.monotonic() - started


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024**2, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "kafka": kafka_version(),
        "librdkafka": confluent_kafka.libversion()[0],
        "confluent_kafka": confluent_kafka.version()[0],
        "note": "broker, contender and load generator share these cores",
    }


def throughput_part(session: Session, cap_s: float, naive_cap_s: float, results: dict[str, Any]) -> None:
    throughput: dict[str, dict[str, Any]] = {}
    for name in ("passthrough", "scorer", "scorer+challenger", "quixstreams", "naive"):
        for mode in MODES:
            if name == "quixstreams" and not BENCH_PYTHON.exists():
                throughput.setdefault(name, {})[mode] = {"eps": None, "error": "no .venv-bench (make bench makes it)"}
                continue
            cap = naive_cap_s if name == "naive" else cap_s
            with console.status(f"{name} ({mode}) on {session.events:,} events"):
                outcome = run_contender(session, name, mode, cap)
            throughput.setdefault(name, {})[mode] = outcome
            console.print(f"{name:12} {mode}: {outcome['eps']:>8,} events/s  ({outcome})")
    results["throughput"] = throughput
    results["throughput_eps"] = {n: {m: r[m]["eps"] for m in MODES} for n, r in throughput.items()}
    results["rss_mb"] = max(throughput["scorer"][m].get("peak_rss_mb", 0) for m in MODES)
    results["rss_mb_passthrough"] = max(throughput["passthrough"][m].get("peak_rss_mb", 0) for m in MODES)
    results["cpu_s_per_million"] = {m: throughput["scorer"][m].get("cpu_s_per_million") for m in MODES}
    results["cpu_s_per_million_passthrough"] = {m: throughput["passthrough"][m].get("cpu_s_per_million") for m in MODES}
    eps = results["throughput_eps"]
    results["challenger_throughput_ratio"] = {
        m: shown_ratio(eps["scorer+challenger"][m], eps["scorer"][m]) for m in MODES
    }
    results["cpu_ratio"] = {
        m: shown_ratio(results["cpu_s_per_million"][m], results["cpu_s_per_million_passthrough"][m]) for m in MODES
    }


def stream_part(session: Session, data: Path, rounds: int, cap_s: float, results: dict[str, Any]) -> None:
    """The scorer with a stream-feature version against the passthrough, in interleaved rounds
    (`bench.stream_part`)."""
    with console.status("training a version with the stream features"):
        models = train_stream(data, session.logs.parent / "models" / fresh("stream"), session.logs)
    with console.status(f"preloading {session.events:,} events with their moments, and the flights' outcomes"):
        source, departures, seconds = stream_topics(session.config, session.admin, data, session.events)
    console.print(f"stream topics preloaded in {seconds:.1f} s")
    on_topic = replace(session, input=source, stream_models=models, departures=departures)

    def report(number: int, contender: str, mode: str, outcome: dict[str, Any]) -> None:
        cpu = outcome.get("cpu_s_per_million", "–")
        split = outcome.get("cpu_s_per_million_by_thread")
        threads = "" if not split else " (" + ", ".join(f"{kind} {value}" for kind, value in split.items()) + ")"
        console.print(
            f"round {number} {contender:14} {mode}: {outcome['eps']:>8,} events/s, {cpu} CPU s per million{threads}"
        )

    measured = interleaved(rounds, lambda contender, mode: run_contender(on_topic, contender, mode, cap_s), report)
    ratios = round_ratios(measured)
    by_thread = thread_medians(measured)
    results["stream"] = {
        "rounds": measured,
        "preload_s": round(seconds, 1),
        "ratios": as_json(ratios),
        "cpu_by_thread": by_thread,
    }
    table = Table(title="ratios to the passthrough on the replayed stream: median \\[range] over the rounds")
    for column in ("contender", "mode", "CPU per event", "throughput"):
        table.add_column(column)
    for contender, modes in ratios.items():
        for mode, figures in modes.items():
            table.add_row(contender, mode, str(figures["cpu"] or "–"), str(figures["throughput"] or "–"))
    console.print(table)
    split = Table(title="CPU seconds per million events by thread: median over the rounds")
    for column in ("contender", "mode", *THREAD_KINDS):
        split.add_column(column)
    for contender, by_mode in by_thread.items():
        for mode, spent in by_mode.items():
            split.add_row(contender, mode, *(str(spent.get(kind, "–")) for kind in THREAD_KINDS))
    console.print(split)


def sweep_part(session: Session, cap_s: float, results: dict[str, Any]) -> None:
    sweep: dict[str, dict[str, int]] = {m: {} for m in MODES}
    for mode in MODES:
        for size in BATCH_SIZES:
            with console.status(f"scorer ({mode}), batch size {size}"):
                outcome = run_contender(session, "scorer", mode, cap_s, batch_size=size)
            sweep[mode][str(size)] = outcome["eps"]
            console.print(f"batch {size:>5} {mode}: {outcome['eps']:,} events/s")
    results["throughput_by_batch_size"] = sweep


def latency_part(
    session: Session, seconds: float, data: Path, results: dict[str, Any]
) -> dict[str, dict[str, list[float]]]:
    """The scorer's latency at each rate (`latency_ms.<mode>`), and the passthrough's (`latency_ms.passthrough`)."""
    latency: dict[str, Any] = {m: {} for m in MODES} | {"passthrough": {m: {} for m in MODES}}
    samples: dict[str, dict[str, list[float]]] = {m: {} for m in MODES}
    for mode in MODES:
        for rate in RATES:
            for contender in ("passthrough", "scorer"):
                with console.status(f"latency of the {contender} ({mode}) at {rate:,} events/s"):
                    outcome = latency_run(session, mode, rate, seconds, data, contender)
                values = outcome.pop("samples")
                if contender == "scorer":
                    samples[mode][str(rate)] = values
                    latency[mode][str(rate)] = outcome
                else:
                    latency["passthrough"][mode][str(rate)] = outcome
                console.print(f"latency {contender} {mode} {rate:>6,}/s: {outcome}")
    results["latency_ms"] = latency
    return samples


@app.command()
def main(
    events: Annotated[int, typer.Option(help="records preloaded into the input topic")] = 500_000,
    cap_s: Annotated[float, typer.Option(help="longest time a contender may take on the topic")] = 120,
    naive_cap_s: Annotated[float, typer.Option(help="time the (slow) naive contender gets")] = 60,
    sweep_cap_s: Annotated[float, typer.Option(help="time per batch size in the sweep")] = 20,
    latency_s: Annotated[float, typer.Option(help="seconds of input per latency rate")] = 10,
    rest_s: Annotated[float, typer.Option(help="duration of the REST stress test")] = 45,
    stream_rounds: Annotated[int, typer.Option(min=1, help="interleaved rounds of the stream part")] = 5,
    parts: Annotated[str, typer.Option(help=f"a subset of {PARTS} (no page then)")] = PARTS,
    data: Annotated[Path, typer.Option(help="the dataset CSV")] = Path("data/dataset_SCL.csv"),
    out: Annotated[Path, typer.Option(help="machine-readable results")] = Path("bench/results.json"),
    doc: Annotated[Path, typer.Option(help="the benchmark page (figures next to it)")] = Path("docs/benchmarks.md"),
) -> None:
    """Run every contender in both modes, measure latency and cost, write results.json and the docs page."""
    chosen = {part.strip() for part in parts.split(",")}
    unknown = chosen - set(PARTS.split(","))
    if unknown:
        raise typer.BadParameter(f"unknown parts {sorted(unknown)}; choose from {PARTS}", param_hint="--parts")
    logs = ROOT / "build" / "bench" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "events": events, "command": "make bench"}
    samples: dict[str, dict[str, list[float]]] = {}
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker = None if bootstrap else LocalKafkaBroker().start()
    session: Session | None = None
    try:
        config: dict[str, Any] = dict(broker.client_config()) if broker else {"bootstrap.servers": bootstrap}
        with console.status("training the model (timed)"):
            models, results["training_s"] = train(data, logs.parent / "models" / fresh("run"), logs)
        console.print(f"trained in {results['training_s']:.1f} s")
        challenger = copy_as_version(resolve_model_dir(models), "challenger")
        session = Session(config, AdminClient(config), models, logs, fresh("input"), events, challenger)
        create_topics(session.admin, session.input)
        if chosen & {"throughput", "sweep"}:
            with console.status(f"preloading {events:,} events into {session.input} (6 partitions)"):
                results["preload_s"] = round(preload(session, data), 1)
            console.print(f"preloaded {events:,} events in {results['preload_s']} s")
        if "throughput" in chosen:
            throughput_part(session, cap_s, naive_cap_s, results)
        if "sweep" in chosen:
            sweep_part(session, sweep_cap_s, results)
        if "latency" in chosen:
            samples = latency_part(session, latency_s, data, results)
        if "predict" in chosen:
            predict_part(session, latency_s, data, results)
        if "stream" in chosen:
            stream_part(session, data, stream_rounds, cap_s, results)
        if "rest" in chosen:
            with console.status(f"seed-style REST stress test ({rest_s:.0f} s)"):
                results["rest_seed"] = rest_run(session, data, rest_s)
            results["rest_seed_fps"] = results["rest_seed"]["fps"]
    finally:
        session = None  # its admin client goes first: left alive, it would log its reconnects to a stopped broker
        if broker:
            broker.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    if chosen != set(PARTS.split(",")):
        console.print_json(json.dumps(results))
        console.print("partial run: results printed above; bench/results.json and the page are left as they were")
        return
    results["targets"] = targets(results)
    out.write_text(json.dumps(results, indent=2) + "\n")
    render(results, samples, doc)
    print_table(results)
    console.print(f"results: {out}; page: {doc}")


def print_table(results: dict[str, Any]) -> None:
    table = Table(title=f"throughput on {results['events']:,} events (events/s)")
    table.add_column("contender")
    for mode in MODES:
        table.add_column(mode, justify="right")
    for name, modes in results["throughput_eps"].items():
        table.add_row(name, *(f"{modes[m]:,}" if modes[m] is not None else "–" for m in MODES))
    table.add_row("seed-style REST (flights/s)", f"{results['rest_seed_fps']:,}", "")
    console.print(table)
    checks = Table(title="targets (ratios from this run)")
    for column in ("target", "measured", "goal", "met"):
        checks.add_column(column)
    for target in results["targets"]:
        checks.add_row(
            target["name"], str(target["measured"]), target["goal"], "yes" if target["met"] else "[red]NO[/]"
        )
    console.print(checks)


if __name__ == "__main__":
    app()
