"""The benchmark's own pieces: the Quix contender scores like the pipeline, and targets are judged correctly."""

from __future__ import annotations

import csv
from typing import Any

import numpy as np

from bench.per_record import PerRecordScorer
from bench.report import targets
from tests.support.dataset import DATASET
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
