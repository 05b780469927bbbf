"""The benchmark's own pieces: the Quix contender scores like the pipeline, and targets are judged correctly."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from bench.measure import ProcessCost, Progress, thread_kind
from bench.per_record import PerRecordScorer
from bench.report import page, targets
from bench.soak_page import page as soak_page
from bench.stream_part import MODES, as_json, round_ratios, spread, thread_medians
from tests.support.dataset import DATASET
from tests.support.packages import ROOT
from training.artifact import LoadedModel
from training.features import records_to_frame


def test_per_record_scorer_equals_the_pipeline_on_the_dataset(model: LoadedModel) -> None:
    """The competitor is given a correct scorer, so the comparison is between equal results."""
    with DATASET.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows += [{**row, "Des-I": "ZZZZ"} for row in rows[:20]]
    scorer = PerRecordScorer(model.pipeline)
    ours = np.asarray([scorer.score(row)[0] for row in rows])
    expected = model.pipeline.predict_proba(records_to_frame(rows))[:, 1]
    assert np.allclose(ours, expected, rtol=0, atol=1e-12)


def _results(scorer: int, rest: float, p99: float, rss: float, cpu: float = 2.0) -> dict[str, Any]:
    eps = {"scorer": scorer, "passthrough": 10_000, "naive": 100, "quixstreams": 2_000}

    def rates(p99_ms: float) -> dict[str, Any]:
        fast = {"p99": p99_ms, "complete": True, "input_eps": 20_000, "output_eps": 19_900}
        return {"1000": {"p99": p99_ms}, "5000": {"p99": p99_ms}, "20000": fast}

    return {
        "throughput_eps": {name: {"eos": value, "alo": value} for name, value in eps.items()},
        "rest_seed_fps": rest,
        "latency_ms": {"eos": rates(p99), "alo": rates(p99), "passthrough": {"eos": rates(50.0), "alo": rates(50.0)}},
        "cpu_ratio": {"eos": cpu, "alo": cpu},
        "rss_mb": rss,
        "rss_mb_passthrough": 100.0,
    }


def test_targets_say_plainly_which_are_missed() -> None:
    met = {t["name"]: t["met"] for t in targets(_results(8_000, 500.0, 70.0, 150.0))}
    assert all(met.values()), met
    missed = {t["name"]: t["met"] for t in targets(_results(4_000, 700.0, 80.0, float("nan"), cpu=3.5))}
    assert missed["scorer / passthrough throughput (eos)"] is False
    assert missed["scorer / passthrough CPU per event (alo)"] is False
    assert missed["scorer / seed-style REST"] is False
    assert missed["p99 at 5,000/s, scorer / passthrough (alo)"] is False
    assert missed["scorer peak RSS - passthrough peak RSS (MB)"] is False, "not measured is not met"
    assert missed["scorer / naive (alo)"] is True
    assert missed["at 20,000/s, outputs / input rate (eos)"] is True


def _round(passthrough: float, scorer: float, stream: float | None) -> dict[str, dict[str, dict[str, Any]]]:
    """One round's outcomes, the same in both modes: events/s, and CPU s per million as 1e6 / events/s."""

    def outcome(eps: float | None) -> dict[str, Any]:
        return {} if eps is None else {"eps": eps, "cpu_s_per_million": 1e6 / eps}

    contenders = {"passthrough": outcome(passthrough), "scorer": outcome(scorer), "scorer+stream": outcome(stream)}
    return {mode: contenders for mode in ("eos", "alo")}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1.0, 3.0, 2.0], (2.0, 1.0, 3.0, 3)),
        ([1.0, None, 2.0, 4.0], (2.0, 1.0, 4.0, 3)),  # a round that measured nothing is left out
        ([0.554, 0.556], (0.56, 0.55, 0.56, 2)),  # even: the mean of the middle two
        ([None], None),
        ([], None),
    ],
)
def test_a_spread_is_the_median_and_range_of_what_was_measured(
    values: list[float | None], expected: tuple[float, float, float, int] | None
) -> None:
    found = spread(values)
    assert (None if found is None else (found.median, found.low, found.high, found.rounds)) == expected


def test_each_round_is_compared_with_its_own_passthrough() -> None:
    """A slow round slows every contender in it: ratios within the round stay what they are."""
    rounds = [_round(10_000, 8_000, 5_000), _round(5_000, 4_000, 2_500), _round(10_000, 9_000, None)]
    ratios = round_ratios(rounds)
    stream = ratios["scorer+stream"]["eos"]
    assert stream["throughput"] is not None and stream["cpu"] is not None
    assert (stream["throughput"].median, stream["throughput"].rounds) == (0.5, 2)
    assert stream["cpu"].median == 2.0
    scorer = ratios["scorer"]["alo"]["throughput"]
    assert scorer is not None and (scorer.median, scorer.low, scorer.high) == (0.8, 0.8, 0.9)
    assert str(scorer) == "0.80 [0.80, 0.90] over 3 rounds"


def test_the_stream_targets_read_the_medians() -> None:
    results = _results(8_000, 500.0, 70.0, 150.0)
    rounds = [_round(10_000, 8_000, 9_000), _round(10_000, 8_000, 7_000), _round(10_000, 8_000, 8_500)]
    results["stream"] = {"ratios": as_json(round_ratios(rounds))}
    met = {t["name"]: (t["measured"], t["met"]) for t in targets(results)}
    name = "scorer with stream features / passthrough, median of rounds (alo)"
    assert met[f"{name}: throughput"] == (0.85, True)
    assert met[f"{name}: CPU per event"] == (1.18, True)
    assert "scorer with stream features" not in str(targets(_results(8_000, 500.0, 70.0, 150.0)))


@pytest.mark.parametrize(
    ("name", "kind"),
    [("rdk:main", "librdkafka"), ("rdk:broker1", "librdkafka"), ("rdk:bg", "librdkafka"), ("python", "application"),
     ("Thread-3 (serve", "application")],
)  # fmt: skip
def test_librdkafka_threads_are_told_from_the_applications_by_name(name: str, kind: str) -> None:
    assert thread_kind(name) == kind


def test_cpu_by_thread_counts_what_each_thread_spent_from_the_first_commit_on() -> None:
    """Thread 1 runs throughout, thread 2 starts after the first commit (all its time counts), thread 3 ends
    before the last sample (not counted); the sample before any commit is start-up."""
    progress = Progress(
        samples=[(0.0, 0), (1.0, 1_000), (2.0, 3_000)],
        cpu=[0.5, 1.0, 1.6],
        threads=[
            {1: ("application", 0.4)},
            {1: ("application", 0.8), 3: ("librdkafka", 0.1)},
            {1: ("application", 1.2), 2: ("librdkafka", 0.2)},
        ],
    )
    assert progress.cpu_per_event() == pytest.approx(0.6 / 2_000)
    assert progress.cpu_per_event_by_thread() == pytest.approx({"application": 0.4 / 2_000, "librdkafka": 0.2 / 2_000})
    assert Progress(samples=[(0.0, 0), (1.0, 5)], cpu=[0.1, 0.2], threads=[{}]).cpu_per_event_by_thread() is None


def test_a_live_process_threads_add_up_to_its_cpu() -> None:
    cost = ProcessCost(os.getpid())
    threads = cost.cpu_by_thread()
    assert os.getpid() in threads and threads[os.getpid()][0] == "application"
    assert sum(seconds for _, seconds in threads.values()) <= cost.cpu_seconds() + 0.05


def test_the_split_by_thread_is_the_median_of_the_rounds_that_measured_it() -> None:
    def outcome(application: float, library: float) -> dict[str, Any]:
        return {"cpu_s_per_million_by_thread": {"application": application, "librdkafka": library}}

    def both_modes(passthrough: dict[str, Any], scorer: dict[str, Any], stream: dict[str, Any]) -> dict[str, Any]:
        return {mode: {"passthrough": passthrough, "scorer": scorer, "scorer+stream": stream} for mode in MODES}

    rounds = [
        both_modes(outcome(2.0, 1.0), outcome(4.0, 1.2), {}),
        both_modes(outcome(1.6, 1.4), outcome(3.0, 1.0), outcome(8.0, 2.0)),
        both_modes(outcome(1.8, 1.2), outcome(5.0, 1.1), outcome(7.0, 3.0)),
    ]
    medians = thread_medians(rounds)
    assert medians["passthrough"]["eos"] == {"application": 1.8, "librdkafka": 1.2}
    assert medians["scorer"]["alo"] == {"application": 4.0, "librdkafka": 1.1}
    assert medians["scorer+stream"]["eos"] == {"application": 7.5, "librdkafka": 2.5}, "a round without it is left out"


@pytest.mark.parametrize(
    ("doc", "run", "rendering"),
    [("benchmarks.md", "results.json", page), ("soak.md", "soak.json", soak_page)],
    ids=["make bench", "make soak"],
)
def test_a_committed_page_is_its_committed_runs_rendering(
    doc: str, run: str, rendering: Callable[[dict[str, Any]], str]
) -> None:
    """A figure edited on the page alone would disagree with the run it claims, and the next run would drop
    the edit."""
    results = json.loads((ROOT / "bench" / run).read_text(encoding="utf-8"))
    assert (ROOT / "docs" / doc).read_text(encoding="utf-8").strip() == rendering(results).strip()
