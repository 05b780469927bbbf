"""The leakage guard: what happened to a flight (its operated columns) must change no prediction."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from training.features import OPERATED_COLUMNS


def scramble_operated(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Shuffle every operated/operation-date column independently and blank some of them."""
    rng = np.random.default_rng(seed)
    scrambled = frame.copy()
    for column in OPERATED_COLUMNS:
        scrambled[column] = rng.permutation(scrambled[column].to_numpy())
    scrambled["DIANOM"] = "Nunca"
    return scrambled


def assert_scrambling_changes_nothing(pipeline: Pipeline, frame: pd.DataFrame) -> None:
    baseline = pipeline.predict_proba(frame)[:, 1]
    assert np.array_equal(baseline, pipeline.predict_proba(scramble_operated(frame))[:, 1])


def assert_dropping_changes_nothing(pipeline: Pipeline, frame: pd.DataFrame) -> None:
    baseline = pipeline.predict_proba(frame)[:, 1]
    assert np.array_equal(baseline, pipeline.predict_proba(frame.drop(columns=list(OPERATED_COLUMNS)))[:, 1])


def assert_operated_columns_do_not_matter(pipeline: Pipeline, frame: pd.DataFrame) -> None:
    """Both checks: scrambled operated columns change no prediction, and neither does their absence."""
    assert_scrambling_changes_nothing(pipeline, frame)
    assert_dropping_changes_nothing(pipeline, frame)
