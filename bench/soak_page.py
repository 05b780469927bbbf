"""docs/soak.md from one soak run's figures (bench/soak.json): the per-minute table, a figure, and the growth of
the never-killed scorer's memory, threads and descriptors from the first minutes to the last."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

WARMUP_MINUTES = 3  # imports, first fetches and caches: growth is measured after these


def growth(samples: list[dict[str, Any]], figure: str, name: str = "a") -> tuple[float, float]:
    """(value after the warm-up, value at the end) of one scorer's figure."""
    values = [s[figure][name] for s in samples if s["minute"] > WARMUP_MINUTES and s[figure][name] >= 0]
    return (values[0], values[-1]) if values else (float("nan"), float("nan"))


def render(result: dict[str, Any], doc: Path) -> None:
    """Write the page and its figure (next to it, in figures/)."""
    _plot(result["samples"], doc.parent / "figures" / "soak.png")
    doc.write_text(page(result))


def page(result: dict[str, Any]) -> str:
    """docs/soak.md's text, from one soak run's figures alone."""
    samples = result["samples"]
    lines = [
        "# Soak",
        "",
        f"`make soak`, run {result['started']}: {result['minutes']} minutes at {result['rate']:,.0f} events/s "
        f"({result['events']:,} events) through two exactly-once scorers on a local broker, on this project's "
        "machine (2 cores shared by the broker, the scorers, the load and the reader). Scorer `a` is never killed; "
        "scorer `b` is SIGKILLed and restarted at once at intervals; the broker is stopped for 10 s once.",
        "",
        f"**Exactly once: {result['events'] - result['lost']:,} of {result['events']:,} events came out, "
        f"{result['lost']} lost, {result['duplicated']} duplicated** (by key, read_committed); exit codes at the "
        f"end {result['exit_codes']}.",
        "",
    ]
    for label, key, unit in (
        ("memory (RSS)", "rss_mb", " MB"),
        ("threads", "threads", ""),
        ("open descriptors", "open_fds", ""),
    ):
        first, last = growth(samples, key)
        lines.append(f"- Scorer `a` {label}: {first:g}{unit} after minute {WARMUP_MINUTES}, {last:g}{unit} at the end.")
    steps = [
        f"minute {b['minute']} {b['rss_mb']['a'] - a['rss_mb']['a']:+.1f} MB"
        + (f" ({'; '.join(b['events'] or a['events'])})" if b["events"] or a["events"] else "")
        for a, b in itertools.pairwise(samples)
        if abs(b["rss_mb"]["a"] - a["rss_mb"]["a"]) >= 1
    ]
    lines.append(
        f"- Where scorer `a`'s memory moved by 1 MB or more: {', '.join(steps) or 'nowhere'}; between those, flat."
    )
    abandoned = max(max(s["abandoned_calls"].values()) for s in samples)
    lines += [
        f"- Abandoned Kafka calls still blocked (`flightdelay_abandoned_calls_blocked`), most at any sample: "
        f"{abandoned} (the scorer exits at 3).",
        "",
        "![soak](figures/soak.png)",
        "",
        "| minute | RSS a / b (MB) | threads a / b | open fds a / b | outputs | p99 latency (ms) | faults |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in samples:
        rss, threads, fds = (_pair(s, key) for key in ("rss_mb", "threads", "open_fds"))
        p99 = "–" if s["p99_ms"] is None else f"{s['p99_ms']:,}"
        lines.append(
            f"| {s['minute']} | {rss} | {threads} | {fds} | {s['outputs']:,} | {p99} | {'; '.join(s['events'])} |"
        )
    lines += ["", "Latency: from the input record's timestamp to the committed prediction, as a read_committed reader",
              "receives it. The steady 0.5 s is mostly the reader's own wait (it takes up to 1,000 records or 0.5 s",
              "per read), so the figure shows the stalls a fault causes, not the scorer's own latency (`make bench`",
              "measures that).",
              "`-1` abandoned calls: the scorer did not answer that minute (restarting).", ""]  # fmt: skip
    return "\n".join(lines)


def _pair(sample: dict[str, Any], key: str) -> str:
    return f"{sample[key]['a']} / {sample[key]['b']}"


def _plot(samples: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s["minute"] for s in samples]
    figure, axes = plt.subplots(2, 2, figsize=(10, 6), layout="constrained", sharex=True)
    for ax, key, title in ((axes[0][0], "rss_mb", "RSS (MB)"), (axes[0][1], "threads", "threads"),
                           (axes[1][0], "open_fds", "open descriptors")):  # fmt: skip
        for name in ("a", "b"):
            ax.plot(minutes, [s[key][name] for s in samples], marker=".", label=f"scorer {name}")
        ax.set_title(title)
        ax.legend(fontsize="small")
    p99 = [(s["minute"], s["p99_ms"]) for s in samples if s["p99_ms"] is not None]
    axes[1][1].plot([m for m, _ in p99], [v for _, v in p99], marker=".", color="black")
    axes[1][1].set_yscale("log")
    axes[1][1].set_title("p99 latency (ms)")
    for s in samples:
        if s["events"]:
            for ax in axes.flat:
                ax.axvline(s["minute"] - 0.5, color="red", alpha=0.25)
    for ax in axes[1]:
        ax.set_xlabel("minute (red: a fault)")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
