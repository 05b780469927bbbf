"""The production model and the candidates it is compared with, as scikit-learn pipelines on raw flights."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from training.features import BASE_FEATURES
from training.pipeline_features import FlightFeatures
from training.stream_features import BINS

# Regularisation strengths tried for the production model; the best validation ROC-AUC wins.
PRODUCTION_C_GRID = (0.03, 0.1, 0.3)
# Quantile bins tried for each stream feature, at the chosen regularisation; the best validation ROC-AUC wins.
STREAM_BINS_GRID = (4, BINS, 16)
# Trees learn interactions themselves: they get the plain features, not the crosses.
TREE_FEATURES = BASE_FEATURES
SEED = 42


def production_model(c: float = 0.1, stream_features: tuple[str, ...] = (), bins: int = BINS) -> Pipeline:
    """Logistic regression on one-hot features and crosses: small, fast, explainable, calibrated.

    No class weighting: the decision threshold handles the 18.5 % imbalance, so probabilities stay honest.
    `stream_features`: the stream features it also reads, in up to `bins` quantile bins (`training.stream_features`).
    """
    return Pipeline(
        [
            ("features", FlightFeatures(stream_features, bins)),
            ("onehot", OneHotEncoder(handle_unknown="ignore", dtype=float)),
            ("logreg", LogisticRegression(C=c, max_iter=5000)),
        ]
    )


def seed_baseline() -> Pipeline:
    """The seed's model: one-hot OPERA, TIPOVUELO and MES (operation month), no class balancing."""
    return Pipeline(
        [
            (
                "onehot",
                ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["OPERA", "TIPOVUELO", "MES"])]),
            ),
            ("logreg", LogisticRegression(max_iter=2000)),
        ]
    )


def _tree_inputs(max_categories: int | None = None) -> ColumnTransformer:
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=-1,
        encoded_missing_value=-1,
        max_categories=max_categories,
    )
    return ColumnTransformer([("ord", encoder, list(TREE_FEATURES))])


def random_forest() -> Pipeline:
    return Pipeline(
        [
            ("features", FlightFeatures()),
            ("ordinal", _tree_inputs()),
            (
                "forest",
                RandomForestClassifier(
                    n_estimators=150,
                    min_samples_leaf=10,
                    max_features="sqrt",
                    n_jobs=-1,
                    random_state=SEED,
                ),
            ),
        ]
    )


def gradient_boosting() -> Pipeline:
    """Histogram gradient boosting with native categorical splits (at most 255 categories a feature)."""
    return Pipeline(
        [
            ("features", FlightFeatures()),
            ("ordinal", _tree_inputs(max_categories=250)),
            (
                "boosting",
                HistGradientBoostingClassifier(
                    categorical_features=list(range(len(TREE_FEATURES))),
                    max_iter=300,
                    learning_rate=0.08,
                    l2_regularization=1.0,
                    early_stopping=False,
                    random_state=SEED,
                ),
            ),
        ]
    )


@dataclass(frozen=True)
class Candidate:
    """A model compared in the report."""

    name: str
    description: str
    build: Callable[[], Pipeline]


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("seed baseline", "logistic regression on one-hot OPERA, TIPOVUELO, MES (the seed)", seed_baseline),
    Candidate("random forest", "150 trees on the plain features (ordinal-encoded)", random_forest),
    Candidate("gradient boosting", "histogram gradient boosting, native categorical splits", gradient_boosting),
)
