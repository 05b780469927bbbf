"""Leakage guard: nothing known only after departure may influence a prediction."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import training.train
from tests.support.leakage import (
    assert_dropping_changes_nothing,
    assert_operated_columns_do_not_matter,
    assert_scrambling_changes_nothing,
)
from tests.support.synthetic import make_flights
from training.dataset import LABEL, load_flights
from training.evaluate import Split
from training.features import INPUT_COLUMNS, OPERATED_COLUMNS, SCHEDULED_DEPARTURE, build_features
from training.models import production_model
from training.stream_features import STREAM_FEATURE_NAMES
from training.train import Hyperparameters, Progress, choose_hyperparameters, train


def test_inputs_and_operated_columns_are_disjoint() -> None:
    assert not set(INPUT_COLUMNS) & set(OPERATED_COLUMNS)


def test_features_need_only_scheduled_columns() -> None:
    frame = make_flights(100)
    pd.testing.assert_frame_equal(build_features(frame), build_features(frame[list(INPUT_COLUMNS)]))


def test_scrambling_operated_columns_changes_no_prediction(tmp_path: Path) -> None:
    path = tmp_path / "flights.csv"
    make_flights(3000).to_csv(path, index=False)
    flights = load_flights(path)
    pipeline = production_model().fit(flights, flights[LABEL])
    assert_operated_columns_do_not_matter(pipeline, flights)


def test_the_guard_catches_a_leaky_model(tmp_path: Path) -> None:
    """The guard is not vacuous: a model that reads `Fecha-O` fails it."""

    class LeakyFeatures:
        def fit(self, raw: pd.DataFrame, y: object = None) -> LeakyFeatures:
            return self

        def transform(self, raw: pd.DataFrame) -> pd.DataFrame:
            features = build_features(raw)
            features["operated_hour"] = pd.to_datetime(raw["Fecha-O"]).dt.hour.astype(str)
            return features

    path = tmp_path / "flights.csv"
    make_flights(2000).to_csv(path, index=False)
    flights = load_flights(path)
    leaky = production_model()
    leaky.steps[0] = ("features", LeakyFeatures())
    leaky.fit(flights, flights[LABEL])
    with pytest.raises(AssertionError):  # scrambling alone catches it: the predictions move
        assert_scrambling_changes_nothing(leaky, flights)
    with pytest.raises(KeyError):  # and it cannot even run without the column
        assert_dropping_changes_nothing(leaky, flights)


def test_the_temporal_comparison_chooses_its_hyperparameters_before_november(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temporal split tests November-December, so nothing about them may choose its model (C, the stream
    features' bins): the 33 % split's validation holds such flights, the temporal split's own validation does not."""
    path = tmp_path / "flights.csv"
    make_flights(3000).to_csv(path, index=False)
    choices: list[tuple[set[int], Hyperparameters]] = []

    def recorded(
        split: Split, progress: Progress, stream_features: tuple[str, ...] = (), c: float | None = None
    ) -> Hyperparameters:
        assert stream_features == STREAM_FEATURE_NAMES
        chosen = choose_hyperparameters(split, progress, stream_features, c)
        seen = pd.concat([split.train, split.validation])[SCHEDULED_DEPARTURE].dt.month
        choices.append((set(seen), chosen))
        return chosen

    monkeypatch.setattr(training.train, "choose_hyperparameters", recorded)
    monkeypatch.setattr(training.train, "CANDIDATES", ())  # only the production model is chosen
    run = train(path, tmp_path / "models", version="v", lead_minutes=60)
    assert [months for months, _ in choices] == [set(range(1, 13)), set(range(1, 11))]
    (_, whole_year), (_, before_november) = choices
    model = run.manifest["model"]
    assert (model["C"], model["stream_bins"]) == (whole_year.c, whole_year.bins)
    assert (model["temporal_C"], model["temporal_stream_bins"]) == (before_november.c, before_november.bins)
