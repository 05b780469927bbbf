"""Stream features on the real SCL dataset: point in time by brute force, the targets, and what serves them."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pandas as pd
import pytest

from consumer.columnar import Columns
from consumer.native_lane import CompiledLane
from consumer.scoring import BatchScorer
from schemas import FlightEvent
from schemas.model_control import ModelRole
from tests.support.dataset import DATASET
from tests.support.leakage import assert_operated_columns_do_not_matter
from tests.support.stream_history import brute_force, dataset_outcomes
from training.artifact import load_artifact
from training.dataset import load_flights
from training.evaluate import random_split
from training.lookup import ServingModel, load_serving_model
from training.model_store import load_serving
from training.models import STREAM_BINS_GRID
from training.promotion import promotion, verified
from training.stream_backfill import DEFAULT_LEAD_MINUTES, event_times, flight_keys, with_stream_features
from training.stream_features import LONGEST_WINDOW_SECONDS, STREAM_FEATURE_NAMES, Outcome, backfill
from training.train import TrainingRun

SAMPLED = 200


@pytest.fixture(scope="module")
def flights() -> pd.DataFrame:
    return with_stream_features(load_flights(DATASET), DEFAULT_LEAD_MINUTES)


@pytest.fixture(scope="module")
def sampled(flights: pd.DataFrame) -> np.ndarray:
    return np.random.default_rng(26).choice(len(flights), SAMPLED, replace=False)


@pytest.fixture(scope="module")
def stream_run(stream_training_run: TrainingRun) -> TrainingRun:
    return stream_training_run


def _one_event(outcomes: list[Outcome], t: int, airline: str, destination: str, flight: str) -> np.ndarray:
    """`backfill` for a single event against the given outcomes."""
    columns = {
        "airline": np.asarray([o.airline for o in outcomes], dtype=object),
        "destination": np.asarray([o.destination for o in outcomes], dtype=object),
        "flight": np.asarray([o.flight for o in outcomes], dtype=object),
    }
    event = {"airline": np.asarray([airline]), "destination": np.asarray([destination]), "flight": np.asarray([flight])}
    known = np.asarray([o.known_at for o in outcomes])
    delays = np.asarray([o.delay_seconds for o in outcomes])
    row: np.ndarray = backfill(columns, known, delays, event, np.asarray([t]))[0]
    return row


def test_sampled_rows_recomputed_by_brute_force_match_the_backfill(flights: pd.DataFrame, sampled: np.ndarray) -> None:
    outcomes = dataset_outcomes(flights)
    known = np.asarray([o.known_at for o in outcomes])
    keys, at = flight_keys(flights), event_times(flights, DEFAULT_LEAD_MINUTES)
    filled = flights[list(STREAM_FEATURE_NAMES)].to_numpy()
    compared = 0
    for row in sampled:
        t = int(at[row])
        recent = [outcomes[i] for i in np.flatnonzero((known >= t - LONGEST_WINDOW_SECONDS) & (known < t))]
        expected = brute_force(recent, t, keys["airline"][row], keys["destination"][row], keys["flight"][row])
        assert np.array_equal(np.asarray(expected), filled[row], equal_nan=True), flights.iloc[row]
        compared += len(expected)
    assert compared == SAMPLED * len(STREAM_FEATURE_NAMES)


def test_moving_every_outcome_not_yet_known_changes_no_feature(flights: pd.DataFrame, sampled: np.ndarray) -> None:
    """Each unknown outcome goes 30 days later, 3 hours later than it was; what was known at t is moved, in
    control, to show the same computation would notice."""
    outcomes = dataset_outcomes(flights)
    keys, at = flight_keys(flights), event_times(flights, DEFAULT_LEAD_MINUTES)
    filled = flights[list(STREAM_FEATURE_NAMES)].to_numpy()
    later, noticed = 30 * 86_400, 0
    for row in sampled[:50]:
        t, event = int(at[row]), (keys["airline"][row], keys["destination"][row], keys["flight"][row])
        unknown_moved = [
            dataclasses.replace(o, known_at=o.known_at + later, delay_seconds=o.delay_seconds + 3 * 3600)
            if o.known_at >= t
            else o
            for o in outcomes
        ]
        assert np.array_equal(_one_event(unknown_moved, t, *event), filled[row], equal_nan=True)
        known_moved = [dataclasses.replace(o, known_at=o.known_at + later) if o.known_at < t else o for o in outcomes]
        noticed += not np.array_equal(_one_event(known_moved, t, *event), filled[row], equal_nan=True)
    assert noticed >= 45  # the rows the control cannot change have nothing known before them


def test_the_stream_model_meets_its_targets_and_beats_the_event_model(
    stream_run: TrainingRun, training_run: TrainingRun
) -> None:
    test, temporal = stream_run.manifest["metrics"]["test"], stream_run.manifest["metrics"]["temporal"]
    print(f"\nstream features: test {test}\ntemporal {temporal}")
    assert test["roc_auc"] >= 0.732
    assert temporal["roc_auc"] >= 0.710
    assert temporal["brier"] <= 0.160
    assert temporal["recall_delayed"] >= 0.58
    plain = training_run.manifest["metrics"]
    assert temporal["roc_auc"] - plain["temporal"]["roc_auc"] >= 0.02
    assert test["roc_auc"] > plain["test"]["roc_auc"]


def test_the_manifest_names_the_stream_features_their_bins_and_the_lead(stream_run: TrainingRun) -> None:
    spec = stream_run.manifest["stream_features"]
    assert spec["lead_minutes"] == DEFAULT_LEAD_MINUTES
    assert [feature["name"] for feature in spec["features"]] == list(STREAM_FEATURE_NAMES)
    assert all(feature["edges"] == sorted(feature["edges"]) for feature in spec["features"])
    bins = stream_run.manifest["model"]["stream_bins"]
    assert bins in STREAM_BINS_GRID
    assert all(len(feature["edges"]) <= bins - 1 for feature in spec["features"])
    names = [feature["name"] for feature in stream_run.manifest["feature_schema"]["features"]]
    assert names[-len(STREAM_FEATURE_NAMES) :] == list(STREAM_FEATURE_NAMES)
    assert "stream features binned (event known 60 min ahead)" in (stream_run.directory / "report.md").read_text()


def test_operated_columns_still_change_no_prediction(stream_run: TrainingRun, flights: pd.DataFrame) -> None:
    model = load_artifact(stream_run.directory)
    assert_operated_columns_do_not_matter(model.pipeline, random_split(flights).test)


def test_verified_served_and_promotable(stream_run: TrainingRun) -> None:
    """`training verify` holds the tables to the pipeline; the scorer serves the version, and a promotion may
    name it."""
    assert verified(str(stream_run.directory)).version == "stream-run"
    served = load_serving(str(stream_run.directory))
    assert served.manifest.stream_features is not None
    record = promotion(verified(str(stream_run.directory)), None, ModelRole.CHALLENGER, {}, "test")
    assert record.model is not None and record.model.version == "stream-run"


def test_the_scorers_python_path_gives_the_pipelines_probabilities_bit_for_bit(
    stream_run: TrainingRun, flights: pd.DataFrame, serving_model: ServingModel
) -> None:
    """The lookup tables with the stream features' bins, given the same values the pipeline read; the compiled
    lane leaves such a version to this path."""
    with DATASET.open(encoding="utf-8", newline="") as handle:
        raw = list(csv.DictReader(handle))
    rows = random_split(flights).test.index[::7]
    served = load_serving_model(stream_run.directory)
    scorer = BatchScorer(served, top=3)
    assert scorer.reads_stream_features
    events = [FlightEvent.model_validate(raw[i]) for i in rows]
    values = flights.loc[rows, list(STREAM_FEATURE_NAMES)].to_numpy()
    scored = scorer.score(Columns.of_events(events), values)
    expected = load_artifact(stream_run.directory).pipeline.predict_proba(flights.loc[rows])[:, 1]
    assert np.array_equal(scored.probabilities, expected)
    assert any(
        term.feature.startswith(("airline_", "airport_", "flight_7d")) for row in scored.contributions for term in row
    )
    with pytest.raises(ValueError, match="reads stream features"):
        scorer.score(Columns.of_events(events))
    assert CompiledLane.build(1_000_000, scorer, None) is None
    assert CompiledLane.build(1_000_000, BatchScorer(serving_model), None) is not None  # where it is built
    assert CompiledLane.build(1_000_000, BatchScorer(serving_model), scorer) is None
