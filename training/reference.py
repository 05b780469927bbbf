"""What the model saw, for the monitor to compare the stream with: the reference profile in the manifest.

Per drift-watched feature, each category's share of the training rows; and the score's distribution on
validation, in ten bins of equal validation mass (its deciles). The monitor computes the same features from
the input events with the same definitions (`training.features.flight_features`) and bins scores with the
same `score_bin`, so a stream that looks like the training data gives a population stability index near 0.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from training.features import FEATURE_NAMES, build_features

if TYPE_CHECKING:
    import pandas as pd

# The plain features whose categories repeat often enough to compare shares: the week of the year and the flight
# number have hundreds of categories, too many for a window of a few thousand events to say anything about.
DRIFT_FEATURES: tuple[str, ...] = (
    "month", "weekday", "hour", "period_of_day", "high_season", "airline", "flight_type", "destination",
)  # fmt: skip
DRIFT_POSITIONS: tuple[int, ...] = tuple(FEATURE_NAMES.index(name) for name in DRIFT_FEATURES)
SCORE = "score"  # the name the score's drift goes by, beside the features
SCORE_BINS = 10


class ReferenceProfile(BaseModel):
    """Category shares of the training rows, and the score's distribution on validation."""

    model_config = ConfigDict(frozen=True)

    training_rows: int = Field(gt=0)
    features: dict[str, dict[str, float]] = Field(description="per feature, each category's share of training rows")
    validation_rows: int = Field(gt=0)
    score_edges: list[float] = Field(description="inner edges of the score bins (validation quantiles), ascending")
    score_shares: list[float] = Field(description="share of validation scores in each bin (one more than edges)")

    def score_reference(self) -> dict[str, float]:
        """The score bins as categories (`"0"`, `"1"`, ...), to compare like a feature."""
        return {str(i): share for i, share in enumerate(self.score_shares)}


def score_bin(edges: Sequence[float], probability: float) -> str:
    """The bin of a probability: how many inner edges are at or below it (`"0"` is the lowest)."""
    return str(bisect.bisect_right(edges, probability))


def drift_row(features: Sequence[str]) -> tuple[str, ...]:
    """The drift-watched values of one event's features (`FEATURE_NAMES` order)."""
    return tuple(features[position] for position in DRIFT_POSITIONS)


def reference_profile(train: pd.DataFrame, validation_scores: np.ndarray[Any, Any]) -> ReferenceProfile:
    """The profile of raw training rows (dataset columns) and the model's probabilities on validation."""
    features = build_features(train)
    shares = {
        name: {str(category): float(share) for category, share in features[name].value_counts(normalize=True).items()}
        for name in DRIFT_FEATURES
    }
    edges = np.unique(np.quantile(validation_scores, np.linspace(0, 1, SCORE_BINS + 1)[1:-1])).tolist()
    counts = np.bincount(np.searchsorted(edges, validation_scores, side="right"), minlength=len(edges) + 1)
    return ReferenceProfile(
        training_rows=len(train),
        features=shares,
        validation_rows=len(validation_scores),
        score_edges=edges,
        score_shares=(counts / counts.sum()).tolist(),
    )
