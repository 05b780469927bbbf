"""Score a batch of events in one vectorised call and explain each score by its largest log-odds terms."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from schemas import FeatureContribution, FlightEvent
from training.artifact import LoadedModel
from training.explain import coefficients
from training.features import BASE_FEATURES, FEATURE_NAMES, records_to_frame

# Crosses are not flagged: a seen destination in an unseen month is not news to a reader.
FLAGGED_FEATURES = BASE_FEATURES


@dataclass(frozen=True)
class ScoredBatch:
    probabilities: np.ndarray
    contributions: list[list[FeatureContribution]]
    unseen: list[list[str]]


class BatchScorer:
    """Wraps the verified pipeline; its probabilities are exactly the training pipeline's."""

    def __init__(self, model: LoadedModel, top: int = 3) -> None:
        self.model = model
        self.top = top
        steps = model.pipeline.named_steps
        self._features, self._encoder, self._logreg = steps["features"], steps["onehot"], steps["logreg"]
        names = model.manifest.get("destination_names", {})
        self._labels = [_label(c.feature, c.category, names) for c in coefficients(model.pipeline)]
        self._coef = self._logreg.coef_[0]
        self._known = {
            name: set(map(str, cats)) for name, cats in zip(FEATURE_NAMES, self._encoder.categories_, strict=True)
        }
        self.known_airlines = frozenset(self._known["airline"])

    def score(self, events: list[FlightEvent]) -> ScoredBatch:
        if not events:
            return ScoredBatch(np.empty(0), [], [])
        frame = records_to_frame(event.model_record() for event in events)
        features: pd.DataFrame = self._features.transform(frame)
        onehot = self._encoder.transform(features)
        probabilities = self._logreg.predict_proba(onehot)[:, 1]
        return ScoredBatch(probabilities, self._explain(onehot), self._unseen(features))

    def _explain(self, onehot: sparse.csr_matrix) -> list[list[FeatureContribution]]:
        terms = sparse.csr_matrix(onehot.multiply(self._coef))
        result: list[list[FeatureContribution]] = []
        for row in range(terms.shape[0]):
            start, end = terms.indptr[row], terms.indptr[row + 1]
            columns, values = terms.indices[start:end], terms.data[start:end]
            order = np.argsort(-np.abs(values), kind="stable")[: self.top]
            result.append(
                [
                    FeatureContribution(feature=self._labels[columns[i]], log_odds=round(float(values[i]), 4))
                    for i in order
                ]
            )
        return result

    def _unseen(self, features: pd.DataFrame) -> list[list[str]]:
        flags = {name: ~features[name].isin(self._known[name]).to_numpy() for name in FLAGGED_FEATURES}
        return [[name for name in FLAGGED_FEATURES if flags[name][row]] for row in range(len(features))]


def _label(feature: str, category: str, destination_names: dict[str, str]) -> str:
    if feature == "destination" and category in destination_names:
        return f"destination={category} ({destination_names[category]})"
    return f"{feature}={category}"
