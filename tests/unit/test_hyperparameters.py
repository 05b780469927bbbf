"""The production model's hyper-parameters: what validation chooses, and the progress it reports while choosing."""

from __future__ import annotations

import pytest
from sklearn.metrics import roc_auc_score

from tests.support.synthetic import make_flights
from training.dataset import LABEL, load_flights
from training.evaluate import Split, random_split
from training.models import PRODUCTION_C_GRID, STREAM_BINS_GRID, production_model
from training.stream_backfill import with_stream_features
from training.stream_features import BINS, STREAM_FEATURE_NAMES
from training.train import Hyperparameters, choice_fits, choose_hyperparameters


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> Split:
    path = tmp_path_factory.mktemp("flights") / "flights.csv"
    make_flights(3000).to_csv(path, index=False)
    return random_split(with_stream_features(load_flights(path), 60))


def _validation_auc(split: Split, choice: Hyperparameters, stream: tuple[str, ...]) -> float:
    model = production_model(choice.c, stream, choice.bins).fit(split.train, split.train[LABEL])
    return float(roc_auc_score(split.validation[LABEL], model.predict_proba(split.validation)[:, 1]))


def test_the_default_bins_are_among_those_tried() -> None:
    assert BINS in STREAM_BINS_GRID


@pytest.mark.parametrize(
    ("stream", "c"), [((), None), ((), 0.1), (STREAM_FEATURE_NAMES, None), (STREAM_FEATURE_NAMES, 0.1)]
)
def test_the_progress_counts_every_model_fitted(split: Split, stream: tuple[str, ...], c: float | None) -> None:
    steps: list[str] = []
    choose_hyperparameters(split, steps.append, stream, c)
    assert len(steps) == choice_fits(bool(stream), c is not None)
    assert len(set(steps)) == len(steps)  # no model is fitted twice


def test_c_is_chosen_at_the_default_bins_then_the_bins_at_that_c(split: Split) -> None:
    chosen = choose_hyperparameters(split, lambda _: None, STREAM_FEATURE_NAMES)
    by_c = {c: _validation_auc(split, Hyperparameters(c), STREAM_FEATURE_NAMES) for c in PRODUCTION_C_GRID}
    assert chosen.c == max(PRODUCTION_C_GRID, key=by_c.__getitem__)
    by_bins = {b: _validation_auc(split, Hyperparameters(chosen.c, b), STREAM_FEATURE_NAMES) for b in STREAM_BINS_GRID}
    assert chosen.bins == max(STREAM_BINS_GRID, key=by_bins.__getitem__)


def test_a_version_without_stream_features_keeps_the_default_bins_and_a_given_c_unfitted(split: Split) -> None:
    steps: list[str] = []
    assert choose_hyperparameters(split, steps.append, (), 0.3) == Hyperparameters(0.3, BINS)
    assert steps == []
