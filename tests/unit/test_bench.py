"""The benchmark's own pieces: the Quix contender scores like the pipeline, and targets are judged correctly."""

from __future__ import annotations

import csv
from typing import Any

import numpy as np

from bench.per_record import PerRecordScorer
from bench.report import targets
from tests.conftest import DATASET
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


def _results(scorer: int, rest: float, p99_alo: float, rss: float) -> dict[str, Any]:
    eps = {"scorer": scorer, "passthrough": 10_000, "naive": 100, "quixstreams": 2_000}
    return {
        "throughput_eps": {name: {"eos": value, "alo": value} for name, value in eps.items()},
        "rest_seed_fps": rest,
        "latency_ms": {"alo": {"5000": {"p99": p99_alo}}, "eos": {"5000": {"p99": 100.0}}},
        "rss_mb": rss,
    }


def test_targets_say_plainly_which_are_missed() -> None:
    met = {t["name"]: t["met"] for t in targets(_results(8_000, 500.0, 20.0, 200.0))}
    assert all(met.values()), met
    missed = {t["name"]: t["met"] for t in targets(_results(6_000, 700.0, 30.0, float("nan")))}
    assert missed["scorer / passthrough (eos)"] is False
    assert missed["scorer / seed-style REST"] is False
    assert missed["p99 at 5,000/s, at-least-once (ms)"] is False
    assert missed["consumer peak RSS (MB)"] is False, "not measured is not met"
    assert missed["scorer / naive (alo)"] is True
