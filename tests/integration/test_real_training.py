"""A full training run on the real SCL dataset: targets met, artifact verified, serving path bit-identical."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from tests.support.dataset import DATASET
from tests.support.leakage import assert_operated_columns_do_not_matter
from training.artifact import LoadedModel
from training.evaluate import random_split
from training.scoring import delay_probabilities
from training.train import TrainingRun

PUBLISHED_SHA256 = "66d7334fbc9c2c070842e9a99d465f552f94a2b1d5c4047be825e5954e12e829"


@pytest.fixture(scope="module")
def run(training_run: TrainingRun) -> TrainingRun:
    return training_run


def test_the_saved_artifact_meets_the_targets_on_the_test_split(model: LoadedModel, run: TrainingRun) -> None:
    """Recomputed from the pickled pipeline on the test rows, not read back from the manifest; then the manifest
    must say the same."""
    from sklearn.metrics import f1_score, recall_score, roc_auc_score

    from training.dataset import LABEL, load_flights

    test_rows = random_split(load_flights(DATASET)).test
    probability = model.pipeline.predict_proba(test_rows)[:, 1]
    actual, predicted = test_rows[LABEL].to_numpy(), probability >= model.threshold
    figures = {
        "roc_auc": roc_auc_score(actual, probability),
        "recall_delayed": recall_score(actual, predicted),
        "f1_delayed": f1_score(actual, predicted),
    }
    assert figures["roc_auc"] >= 0.715
    assert figures["recall_delayed"] >= 0.60
    assert figures["f1_delayed"] >= 0.40
    for name, value in figures.items():
        assert run.manifest["metrics"]["test"][name] == pytest.approx(value, abs=5e-4), name


def test_manifest_meets_the_targets(run: TrainingRun) -> None:
    """The temporal split's model is fitted for the report only (not saved): its figures come from the run."""
    test, temporal = run.manifest["metrics"]["test"], run.manifest["metrics"]["temporal"]
    assert temporal["roc_auc"] >= 0.66
    for block in (test, temporal):
        assert set(block) >= {"roc_auc", "pr_auc", "brier", "recall_delayed", "precision_delayed", "f1_delayed"}
    assert run.manifest["data_sha256"] == PUBLISHED_SHA256
    for key in ("version", "created_at", "git_commit", "libraries", "feature_schema", "threshold", "sha256"):
        assert key in run.manifest


def test_report_and_figures_are_written(run: TrainingRun) -> None:
    report = (run.directory / "report.md").read_text()
    for figure in ("roc.png", "pr.png", "reliability.png", "confusion.png"):
        assert (run.directory / figure).stat().st_size > 5000
        assert f"]({figure})" in report
    assert "log-odds" in report
    assert "seed baseline" in report


def test_serving_path_is_bit_identical_to_training(model: LoadedModel, run: TrainingRun) -> None:
    """Raw CSV rows (strings, as a producer would send them) scored through the serving path."""
    from training.dataset import load_flights

    test_rows = random_split(load_flights(DATASET)).test
    expected = model.pipeline.predict_proba(test_rows)[:, 1]
    with DATASET.open(encoding="utf-8", newline="") as handle:
        raw = list(csv.DictReader(handle))
    records = [raw[i] for i in test_rows.index]
    served = delay_probabilities(model.pipeline, records)
    assert served.dtype == expected.dtype
    assert np.array_equal(served, expected)
    assert_operated_columns_do_not_matter(model.pipeline, test_rows)
