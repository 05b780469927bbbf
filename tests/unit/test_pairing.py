"""Champion and challenger predictions paired by flight, and the report built from the pairs."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from monitor.comparison import compare_auc, compare_brier, compare_recall
from monitor.gate import comparison_report
from monitor.join import Joined, Outcome, Prediction
from monitor.pairing import PairedFlights
from schemas.model_control import ModelRole
from schemas.monitoring import MODEL_METRICS_RECORD, ModelComparisonReport, ModelMetricsReport

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def joined(flight: str, role: ModelRole, version: str, probability: float, delayed: bool) -> Joined:
    prediction = Prediction(flight, role, version, probability, 0.3, 0.0, ("p", 0, 0))
    return Joined(prediction, Outcome(flight, delayed, 30.0 if delayed else 0.0, 0.0, ("o", 0, 0)))


def test_a_pair_forms_whichever_side_is_joined_first_and_a_rescored_side_replaces_its_first() -> None:
    pairs = PairedFlights()
    assert pairs.add(joined("f1", ModelRole.CHALLENGER, "v2", 0.8, True)) is None
    assert pairs.add(joined("f1", ModelRole.CHAMPION, "v1", 0.6, True)) == ("v1", "v2")
    assert pairs.add(joined("f2", ModelRole.CHAMPION, "v1", 0.1, False)) is None
    assert pairs.add(joined("f2", ModelRole.CHAMPION, "v1", 0.2, False)) is None  # scored again: this one stands
    assert pairs.add(joined("f2", ModelRole.CHALLENGER, "v2", 0.3, False)) == ("v1", "v2")
    delayed, champion, challenger = pairs.lineups()[("v1", "v2")].arrays()
    assert delayed.tolist() == [True, False]
    assert champion.tolist() == [0.6, 0.2] and challenger.tolist() == [0.8, 0.3]


def test_lineups_are_kept_apart_and_bounded() -> None:
    pairs = PairedFlights(keep=3, waiting_at_most=2)
    for i in range(5):
        pairs.add(joined(f"a{i}", ModelRole.CHAMPION, "v1", 0.5, False))
        pairs.add(joined(f"a{i}", ModelRole.CHALLENGER, "v2", 0.5, False))
        pairs.add(joined(f"b{i}", ModelRole.CHAMPION, "v2", 0.5, False))
        pairs.add(joined(f"b{i}", ModelRole.CHALLENGER, "v1", 0.5, False))
    assert {lineup: len(sample.rows) for lineup, sample in pairs.lineups().items()} == {
        ("v1", "v2"): 3,
        ("v2", "v1"): 3,
    }
    assert {lineup: sample.paired for lineup, sample in pairs.lineups().items()} == {
        ("v1", "v2"): 5,
        ("v2", "v1"): 5,
    }, "pairs gained past the bound are counted: a lineup's comparison still changes"
    for i in range(4):
        pairs.add(joined(f"lonely{i}", ModelRole.CHAMPION, "v1", 0.5, False))
    assert pairs.unpaired_dropped == 2, "the oldest unpaired flights leave first"


def test_the_report_holds_the_comparison_of_the_pairs() -> None:
    rng = np.random.default_rng(3)
    pairs = PairedFlights()
    y = rng.random(400) < 0.25
    a, b = (
        np.clip(0.25 + 0.2 * y + rng.normal(0, 0.2, 400), 0, 1),
        np.clip(0.25 + 0.5 * y + rng.normal(0, 0.1, 400), 0, 1),
    )
    for i in range(400):
        pairs.add(joined(f"f{i}", ModelRole.CHAMPION, "v1", float(a[i]), bool(y[i])))
        pairs.add(joined(f"f{i}", ModelRole.CHALLENGER, "v2", float(b[i]), bool(y[i])))
    report = comparison_report(("v1", "v2"), pairs.lineups()[("v1", "v2")], NOW)
    assert report is not None and report.roc_auc is not None
    auc, brier, recall = compare_auc(y, a, b), compare_brier(y, a, b), compare_recall(y, a, b, 0.3, 0.3)
    assert (report.roc_auc.effect, report.roc_auc.low, report.roc_auc.high) == pytest.approx(
        (auc.effect, auc.low, auc.high)
    )
    assert report.roc_auc.verdict == auc.verdict.value == "better"
    assert (report.brier.effect, report.brier.low) == pytest.approx((brier.effect, brier.low))
    assert (report.recall.champion_recall, report.recall.only_challenger) == (recall.recall_a, recall.only_b)
    assert (report.flights, report.delayed) == (400, int(y.sum()))
    parsed = MODEL_METRICS_RECORD.validate_json(report.model_dump_json())
    assert isinstance(parsed, ModelComparisonReport) and parsed == report


def test_no_roc_auc_before_two_flights_of_each_class() -> None:
    pairs = PairedFlights()
    for i, delayed in enumerate([False, False, False, True]):
        pairs.add(joined(f"f{i}", ModelRole.CHAMPION, "v1", 0.2, delayed))
        pairs.add(joined(f"f{i}", ModelRole.CHALLENGER, "v2", 0.4, delayed))
    report = comparison_report(("v1", "v2"), pairs.lineups()[("v1", "v2")], NOW)
    assert report is not None and report.roc_auc is None and report.flights == 4


def test_a_figures_record_written_before_kind_existed_still_reads_as_figures() -> None:
    figures = {
        "role": "champion", "model_version": "v1", "window": "events", "events": 10, "delayed": 2, "roc_auc": 0.7,
        "pr_auc": 0.4, "recall": 0.5, "precision": 0.3, "f1": 0.4, "brier": 0.15, "ece": 0.02,
        "mean_probability": 0.2, "predicted_delayed_rate": 0.3, "actual_delayed_rate": 0.2, "pending": 0,
        "reported_at": NOW.isoformat(),
    }  # fmt: skip
    parsed = MODEL_METRICS_RECORD.validate_python(figures)
    assert isinstance(parsed, ModelMetricsReport) and parsed.kind == "figures"
