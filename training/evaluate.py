"""Comparable evaluation: the challenge's 33 % stratified split, a validation split, a temporal split."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split

from training.dataset import LABEL
from training.features import SCHEDULED_DEPARTURE

TEST_SIZE = 0.33
VALIDATION_SIZE = 0.2  # of what is left after the test split
RANDOM_STATE = 42
TEMPORAL_TEST_MONTHS = (11, 12)
MIN_RECALL = 0.60
THRESHOLD_RULE = (
    f"the threshold that maximises F1 of delayed flights on the validation split among those whose "
    f"validation recall of delayed flights is at least {MIN_RECALL:.2f}"
)


@dataclass(frozen=True)
class Split:
    """Train, validation (threshold and hyper-parameter choice only) and test frames."""

    name: str
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


@dataclass(frozen=True)
class Metrics:
    roc_auc: float
    pr_auc: float
    brier: float
    recall_delayed: float
    precision_delayed: float
    f1_delayed: float
    threshold: float

    def as_dict(self) -> dict[str, float]:
        return {key: round(value, 6) for key, value in asdict(self).items()}


def _carve_validation(rest: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, validation = train_test_split(
        rest, test_size=VALIDATION_SIZE, stratify=rest[LABEL], random_state=RANDOM_STATE
    )
    return train, validation


def random_split(frame: pd.DataFrame) -> Split:
    """33 % stratified test with random_state=42, as published solutions of the challenge use."""
    rest, test = train_test_split(frame, test_size=TEST_SIZE, stratify=frame[LABEL], random_state=RANDOM_STATE)
    train, validation = _carve_validation(rest)
    return Split("test", train, validation, test)


def temporal_split(frame: pd.DataFrame) -> Split:
    """Train on scheduled January-October, test on November-December."""
    late = frame[SCHEDULED_DEPARTURE].dt.month.isin(TEMPORAL_TEST_MONTHS)
    train, validation = _carve_validation(frame[~late])
    return Split("temporal", train, validation, frame[late])


def choose_threshold(y_true: np.ndarray, probability: np.ndarray, min_recall: float = MIN_RECALL) -> float:
    """Apply THRESHOLD_RULE to validation labels and probabilities."""
    precision, recall, thresholds = precision_recall_curve(y_true, probability)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(recall), where=precision + recall > 0)
    eligible = recall >= min_recall
    best = int(np.argmax(np.where(eligible, f1, -1.0)))
    return float(thresholds[best])


def score(y_true: np.ndarray, probability: np.ndarray, threshold: float) -> Metrics:
    predicted = (probability >= threshold).astype(int)
    return Metrics(
        roc_auc=float(roc_auc_score(y_true, probability)),
        pr_auc=float(average_precision_score(y_true, probability)),
        brier=float(brier_score_loss(y_true, probability)),
        recall_delayed=float(recall_score(y_true, predicted, zero_division=0)),
        precision_delayed=float(precision_score(y_true, predicted, zero_division=0)),
        f1_delayed=float(f1_score(y_true, predicted, zero_division=0)),
        threshold=float(threshold),
    )
