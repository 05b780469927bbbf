"""Targets checked against one run's ratios, and docs/benchmarks.md with its two figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MODES = ("eos", "alo")
MODE_NAMES = {"eos": "exactly-once", "alo": "at-least-once"}
PROFILE_NOTES = Path(__file__).with_name("profile.md")


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either was not measured (a zero counts as not measured)."""
    return a / b if a and b else None


def shown_ratio(a: float | None, b: float | None) -> float | None:
    """`ratio` to the two decimals the page and results.json show (and the targets compare)."""
    value = ratio(a, b)
    return None if value is None else round(value, 2)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with the measured value; `met` is False when it could not be measured."""
    eps = results["throughput_eps"]
    latency = results["latency_ms"]
    checks: list[dict[str, Any]] = []

    def check(
        name: str, measured: float | None, goal: str, low: float | None = None, high: float | None = None
    ) -> None:
        checks.append({"name": name, "measured": measured, "goal": goal, "min": low, "max": high})

    for mode in MODES:
        scorer = eps["scorer"][mode]
        check(
            f"scorer / passthrough throughput ({mode})",
            shown_ratio(scorer, eps["passthrough"][mode]),
            ">= 0.50",
            low=0.5,
        )
        check(f"scorer / passthrough CPU per event ({mode})", results["cpu_ratio"][mode], "<= 3.0", high=3.0)
        for rate in ("1000", "5000"):
            p99_ratio = shown_ratio(latency[mode][rate]["p99"], latency["passthrough"][mode][rate]["p99"])
            check(f"p99 at {int(rate):,}/s, scorer / passthrough ({mode})", p99_ratio, "<= 1.5", high=1.5)
        fast = latency[mode]["20000"]
        kept_up = shown_ratio(fast["output_eps"], fast["input_eps"]) if fast["complete"] else 0.0
        check(f"at 20,000/s, outputs / input rate ({mode})", kept_up, ">= 0.99", low=0.99)
        check(f"scorer / naive ({mode})", shown_ratio(scorer, eps["naive"][mode]), ">= 20", low=20)
        check(f"scorer / quixstreams ({mode})", shown_ratio(scorer, eps["quixstreams"][mode]), ">= 2", low=2)
    best = max(eps["scorer"][m] or 0 for m in MODES)
    check("scorer / seed-style REST", shown_ratio(best, results["rest_seed_fps"]), ">= 10", low=10)
    extra_rss = round(results["rss_mb"] - results["rss_mb_passthrough"], 1)
    check("scorer peak RSS - passthrough peak RSS (MB)", extra_rss, "<= 64", high=64)
    stream = results.get("stream", {}).get("ratios", {}).get("scorer+stream")
    for mode in MODES if stream else ():
        cpu, throughput = (stream[mode][name] for name in ("cpu", "throughput"))
        name = f"scorer with stream features / passthrough, median of rounds ({mode})"
        check(f"{name}: CPU per event", cpu and cpu["median"], "<= 2.0", high=2.0)
        check(f"{name}: throughput", throughput and throughput["median"], ">= 0.8", low=0.8)
    for item in checks:
        value, low, high = item["measured"], item.pop("min"), item.pop("max")
        if value is None or value != value:  # not measured, or NaN
            item["met"] = False
        else:
            item["met"] = (low is None or value >= low) and (high is None or value <= high)
    return checks


def render(results: dict[str, Any], samples: dict[str, dict[str, list[float]]], doc: Path) -> None:
    """Write the page and its figures (next to it, in figures/)."""
    figures = doc.parent / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    _batch_figure(results, figures / "bench-batch-size.png")
    _latency_figure(samples, figures / "bench-latency.png")
    doc.write_text(page(results))


def _batch_figure(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.5))
    for mode in MODES:
        sweep = results["throughput_by_batch_size"][mode]
        sizes = [int(s) for s in sweep]
        axis.plot(sizes, list(sweep.values()), marker="o", label=f"scorer, {MODE_NAMES[mode]}")
        limit = results["throughput_eps"]["passthrough"][mode]
        if limit:
            axis.axhline(limit, linestyle="--", linewidth=1, color=axis.lines[-1].get_color())
    axis.set_xscale("log")
    axis.set_xlabel("SCORER_BATCH_SIZE (records)")
    axis.set_ylabel("events/s")
    axis.set_title("Throughput by batch size (dashed: passthrough)", fontsize=10)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _latency_figure(samples: dict[str, dict[str, list[float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    import numpy as np

    figure, axis = plt.subplots(figsize=(6, 3.5))
    for mode in MODES:
        for rate, values in samples.get(mode, {}).items():
            if not values:
                continue
            ordered = np.sort(np.asarray(values))
            axis.plot(ordered, np.linspace(0, 1, len(ordered)), label=f"{MODE_NAMES[mode]}, {int(rate):,}/s")
    axis.set_xscale("log")
    axis.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # minor labels overlap on a log axis
    axis.set_xlabel("end-to-end latency to read_committed visibility (ms)")
    axis.set_ylabel("share of predictions")
    axis.set_title("Latency distribution (CDF)")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _predict_note(results: dict[str, Any]) -> list[str]:
    runs = results.get("predict_load")
    if not runs:
        return []
    alone, loaded = runs["stream alone"], runs["with POST /predict"]
    return [
        f"- Ad-hoc `POST /predict` traffic (4 clients, 100 flights a request) while the stream runs at 5,000/s "
        f"exactly-once: p99 {_fmt(loaded['p99'])} ms against {_fmt(alone['p99'])} ms alone; "
        f"{loaded.get('predict_requests_answered', 0):,} requests answered, "
        f"{loaded.get('predict_requests_refused', 0):,} refused as busy (429)."
    ]


def _stream_section(results: dict[str, Any]) -> list[str]:
    stream = results.get("stream")
    if not stream:
        return []
    rounds = len(stream["rounds"])
    lines = [
        "",
        "## With the stream features",
        "",
        f"The same {results['events']:,} flights, each known an hour before its departure (the replay's header), and "
        "every flight's outcome on a departures topic the scorer reads whole; the scorer serving the event-only "
        f"version and one with the stream features. {rounds} interleaved rounds (passthrough, scorer, scorer with "
        "stream features, in each mode); each ratio is to the same round's passthrough: median [range].",
        "",
        "| contender | mode | CPU per event | throughput |",
        "| --- | --- | --- | --- |",
    ]

    def shown(figure: dict[str, Any] | None) -> str:
        return "–" if figure is None else f"{figure['median']:.2f} [{figure['min']:.2f}, {figure['max']:.2f}]"

    for contender, modes in stream["ratios"].items():
        for mode in MODES:
            lines.append(
                f"| {contender} | {MODE_NAMES[mode]} | {shown(modes[mode]['cpu'])} | "
                f"{shown(modes[mode]['throughput'])} |"
            )
    return lines + _thread_lines(stream.get("cpu_by_thread"))


def _thread_lines(by_thread: dict[str, dict[str, dict[str, float]]] | None) -> list[str]:
    """Where each contender's CPU goes: its application threads (the interpreter's loop and the compiled lane
    it calls) and librdkafka's (I/O, protocol, compression), CPU seconds per million events."""
    if not by_thread:
        return []
    lines = [
        "",
        "CPU seconds per million events by thread, median over the rounds: the application's threads (the "
        "interpreter's loop and the compiled lane it calls, the HTTP server) and librdkafka's (network, protocol, "
        "compression).",
        "",
        "| contender | mode | application | librdkafka | sum |",
        "| --- | --- | --- | --- | --- |",
    ]
    for contender, modes in by_thread.items():
        for mode in MODES:
            spent = modes.get(mode)
            if spent:
                application, library = spent.get("application", 0.0), spent.get("librdkafka", 0.0)
                lines.append(
                    f"| {contender} | {MODE_NAMES[mode]} | {application:.2f} | {library:.2f} | "
                    f"{application + library:.2f} |"
                )
    return lines


def _shadow_note(results: dict[str, Any]) -> str:
    shadow = results["throughput"]["scorer+challenger"]["eos"].get("shadow_records")
    return f" ({shadow:,} records on the shadow topic in the exactly-once run)" if shadow else ""


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and value != value:
        return "n/a"
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def page(results: dict[str, Any]) -> str:
    """docs/benchmarks.md's text, from one run's results alone."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run.py`) from its last run; `bench/results.json` has every figure.",
        "",
        _machine_line(results["machine"]),
        "",
        *_throughput_section(results),
        "",
        *_latency_section(results),
        "",
        *_cost_section(results),
        "",
        *_targets_section(results["targets"]),
        "",
        "## Figures",
        "",
        "![throughput by batch size](figures/bench-batch-size.png)",
        "",
        "![latency distribution](figures/bench-latency.png)",
        "",
    ]
    if PROFILE_NOTES.exists():
        lines += [PROFILE_NOTES.read_text().strip(), ""]
    return "\n".join(lines)


def _machine_line(machine: dict[str, Any]) -> str:
    return (
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, {machine['os']}; Python "
        f"{machine['python']}, Apache Kafka {machine['kafka']} (local KRaft broker, one node), librdkafka "
        f"{machine['librdkafka']}. The broker, the contender and the load generator share the cores, so absolute "
        "figures are low and noisy; the ratios come from one run, side by side."
    )


def _throughput_section(results: dict[str, Any]) -> list[str]:
    lines = [
        f"## Throughput ({results['events']:,} dataset events preloaded on 6 partitions)",
        "",
        "Committed input records per second, from each contender's first commit to its last.",
        "",
        "| contender | exactly-once | at-least-once | notes |",
        "| --- | --- | --- | --- |",
    ]
    for name, modes in results["throughput"].items():
        notes = []
        for mode in MODES:
            outcome = modes[mode]
            if outcome.get("error"):
                notes.append(f"{mode}: {outcome['error']}")
            elif outcome.get("eps") and not outcome.get("completed"):
                notes.append(
                    f"{mode}: measured on the first {outcome['events_counted']:,} events ({outcome['seconds']} s cap)"
                )
        lines.append(
            f"| {name} | {_fmt(modes['eos'].get('eps'))} | {_fmt(modes['alo'].get('eps'))} | {'; '.join(notes)} |"
        )
    rest = results["rest_seed"]
    lines.append(
        f"| seed-style REST (flights/s, one per request, {rest['seconds']:.0f} s, 8 client threads) "
        f"| {_fmt(rest['fps'])} | | {rest['failed']} failed requests |"
    )
    return lines


def _latency_section(results: dict[str, Any]) -> list[str]:
    lines = [
        "## Latency (input record timestamp to visibility for a read_committed reader)",
        "",
        "| contender, mode | input rate (target / achieved / outputs) | p50 ms | p95 ms | p99 ms | all outputs seen |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, table in (("scorer", results["latency_ms"]), ("passthrough", results["latency_ms"]["passthrough"])):
        for mode in MODES:
            for rate, outcome in table[mode].items():
                lines.append(
                    f"| {name}, {MODE_NAMES[mode]} | {int(rate):,} / {outcome['input_eps']:,} / "
                    f"{_fmt(outcome.get('output_eps'))} | {_fmt(outcome['p50'])} | {_fmt(outcome['p95'])} | "
                    f"{_fmt(outcome['p99'])} | {'yes' if outcome['complete'] else 'no'} |"
                )
    return lines


def _cost_section(results: dict[str, Any]) -> list[str]:
    cpu = results["cpu_s_per_million"]
    cpu_passthrough = results["cpu_s_per_million_passthrough"]
    return [
        "## Cost",
        "",
        f"- Peak RSS: scorer {_fmt(results['rss_mb'])} MB, passthrough {_fmt(results['rss_mb_passthrough'])} MB.",
        f"- CPU seconds per million events (process, after start-up): scorer exactly-once {_fmt(cpu['eos'])}, "
        f"at-least-once {_fmt(cpu['alo'])}; passthrough exactly-once {_fmt(cpu_passthrough['eos'])}, "
        f"at-least-once {_fmt(cpu_passthrough['alo'])}; ratio {_fmt(results['cpu_ratio']['eos'])} and "
        f"{_fmt(results['cpu_ratio']['alo'])}.",
        f"- A challenger in shadow (every event scored by a second model version and written to the shadow topic "
        f"in the same transaction): throughput {_fmt(results['challenger_throughput_ratio']['eos'])} "
        f"(exactly-once) and {_fmt(results['challenger_throughput_ratio']['alo'])} (at-least-once) of the "
        "scorer's alone" + _shadow_note(results) + ".",
        *_predict_note(results),
        f"- Training (`training fit` on the real dataset, all candidates and the report): "
        f"{results['training_s']:.1f} s.",
        *_stream_section(results),
    ]


def _targets_section(targets: list[dict[str, Any]]) -> list[str]:
    lines = ["## Targets", "", "| target | measured | goal | met |", "| --- | --- | --- | --- |"]
    for target in targets:
        met = "yes" if target["met"] else "**no**"
        lines.append(f"| {target['name']} | {_fmt(target['measured'])} | {target['goal']} | {met} |")
    return lines
