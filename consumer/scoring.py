"""Score a batch of events as sums of coefficient lookups, and explain each score by its largest terms.

A logistic regression over one-hot categories is `expit(intercept + sum of the active categories'
coefficients)`. So after the shared feature definition (`training.features.flight_features`, what the
pipeline's own first step computes for every row) each feature value is looked up in a table built from the
fitted encoder and model, instead of building a data frame and a sparse matrix per batch. The terms are
added in the encoder's column order, exactly as scikit-learn's sparse dot product adds them, so the
probabilities are the pipeline's bit for bit (asserted in tests/unit/test_scoring.py). A pipeline of any
other shape is scored by the pipeline itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder

from schemas import FlightEvent
from training.artifact import LoadedModel
from training.explain import coefficients
from training.features import BASE_FEATURES, FEATURE_NAMES, FlightFeatures, flight_features, records_to_frame

# Crosses are not flagged: a seen destination in an unseen month is not news to a reader.
FLAGGED_FEATURES = BASE_FEATURES
_FLAGGED_COLUMNS = [FEATURE_NAMES.index(name) for name in FLAGGED_FEATURES]
UNKNOWN = -1


@dataclass(frozen=True, slots=True)
class Term:
    """One term of the log-odds; serialises (orjson) to the contract's `FeatureContribution`."""

    feature: str
    log_odds: float


@dataclass(frozen=True)
class ScoredBatch:
    probabilities: np.ndarray
    contributions: list[list[Term]]
    unseen: list[list[str]]


def is_lookup_model(encoder: Any, logreg: Any) -> bool:
    """True when the lookup gives the pipeline's exact result: plain one-hot, unknowns ignored, binary logit."""
    return (
        isinstance(encoder, OneHotEncoder)
        and encoder.handle_unknown == "ignore"
        and encoder.drop_idx_ is None
        and getattr(encoder, "infrequent_categories_", None) is None
        and encoder.min_frequency is None
        and encoder.max_categories is None
        and isinstance(logreg, LogisticRegression)
        and len(logreg.classes_) == 2
        and len(encoder.categories_) == len(FEATURE_NAMES)
    )


class BatchScorer:
    """Wraps the verified pipeline; its probabilities are exactly the training pipeline's."""

    def __init__(self, model: LoadedModel, top: int = 3) -> None:
        self.model = model
        self.top = top
        steps = model.pipeline.named_steps
        encoder, logreg = steps["onehot"], steps["logreg"]
        self._fast = is_lookup_model(encoder, logreg) and isinstance(steps["features"], FlightFeatures)
        names = model.manifest.get("destination_names", {})
        self._coef = np.asarray(logreg.coef_[0], dtype=np.float64)
        self._intercept = logreg.intercept_
        # One term per encoder column, made once: explaining a score is then picking columns.
        self._terms = [
            Term(_label(c.feature, c.category, names), round(c.log_odds, 4)) for c in coefficients(model.pipeline)
        ]
        self._columns: list[dict[str, int]] = []
        offset = 0
        for categories in encoder.categories_:
            self._columns.append({str(category): offset + i for i, category in enumerate(categories)})
            offset += len(categories)
        self.known_airlines = frozenset(self._columns[FEATURE_NAMES.index("airline")])

    def score(self, events: list[FlightEvent]) -> ScoredBatch:
        if not events:
            return ScoredBatch(np.empty(0), [], [])
        tables = self._columns
        # The pipeline's own first step (FlightFeatures) computes exactly `flight_features` for every row.
        columns = np.array(
            [
                [table.get(value, UNKNOWN) for table, value in zip(tables, _features(event), strict=True)]
                for event in events
            ],
            dtype=np.int64,
        )
        known = columns != UNKNOWN
        terms = np.where(known, self._coef[np.where(known, columns, 0)], 0.0)
        if self._fast:
            decision = np.zeros(len(events))
            for j in range(len(FEATURE_NAMES)):  # column order, as the sparse dot product sums them
                decision += terms[:, j]
            probabilities = expit(decision + self._intercept)
        else:
            probabilities = self.model.pipeline.predict_proba(records_to_frame(e.model_record() for e in events))[:, 1]
        return ScoredBatch(probabilities, self._explain(columns, terms, known), self._unseen(known))

    def _explain(self, columns: np.ndarray, terms: np.ndarray, known: np.ndarray) -> list[list[Term]]:
        """The `top` terms by size (ties in column order); unknown categories add nothing and are never listed."""
        if self.top == 0:
            return [[] for _ in range(len(columns))]
        keys = np.where(known, -np.abs(terms), np.inf)
        order = np.argsort(keys, axis=1, kind="stable")[:, : self.top]
        rows = np.arange(len(columns))[:, None]
        chosen = np.where(known[rows, order], columns[rows, order], UNKNOWN).tolist()
        all_terms = self._terms
        return [[all_terms[c] for c in row if c != UNKNOWN] for row in chosen]

    @staticmethod
    def _unseen(known: np.ndarray) -> list[list[str]]:
        flagged = ~known[:, _FLAGGED_COLUMNS]
        unseen: list[list[str]] = [[] for _ in range(len(known))]
        for row in np.flatnonzero(flagged.any(axis=1)).tolist():
            unseen[row] = [FLAGGED_FEATURES[i] for i in np.flatnonzero(flagged[row])]
        return unseen


def _features(event: FlightEvent) -> tuple[str, ...]:
    # A validated departure is already Santiago local time (FlightEvent converts it); the calendar fields the
    # features read are those of `event.local_departure`, without converting again.
    return flight_features(
        event.scheduled_departure,
        event.airline_name,
        event.flight_type,
        event.destination,
        event.airline_code,
        event.flight_number,
    )


def _label(feature: str, category: str, destination_names: dict[str, str]) -> str:
    if feature == "destination" and category in destination_names:
        return f"destination={category} ({destination_names[category]})"
    return f"{feature}={category}"
