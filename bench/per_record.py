"""A per-record scorer for the frameworks that hand over one record at a time (the Quix Streams contender).

It is what a competent user of such a framework would write: the shared per-flight features
(`training.features.flight_features`) and a sum of the model's coefficients, no pandas per record.
`tests/unit/test_bench.py` asserts that it gives the pipeline's probabilities on the whole dataset, so the
comparison is between equal results.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from training.features import FEATURE_NAMES, flight_features


def record_features(record: dict[str, Any]) -> tuple[str, ...]:
    """The shared feature definition applied to one raw record (dataset column names)."""
    return flight_features(
        datetime.fromisoformat(str(record["Fecha-I"])),
        record["OPERA"], record["TIPOVUELO"], record["Des-I"], record["Emp-I"], record["Vlo-I"],
    )  # fmt: skip


class PerRecordScorer:
    """Coefficient lookups for one record at a time, from a fitted (features, one-hot, logistic) pipeline."""

    def __init__(self, pipeline: Any, top: int = 3) -> None:
        encoder, logreg = pipeline.named_steps["onehot"], pipeline.named_steps["logreg"]
        coef = logreg.coef_[0]
        self.intercept = float(logreg.intercept_[0])
        self.top = top
        self.tables: list[dict[str, float]] = []
        offset = 0
        for categories in encoder.categories_:
            self.tables.append({str(c): float(coef[offset + i]) for i, c in enumerate(categories)})
            offset += len(categories)
        assert len(self.tables) == len(FEATURE_NAMES)

    def score(self, record: dict[str, Any]) -> tuple[float, list[tuple[str, float]]]:
        """(probability, top terms) of one raw record."""
        total = 0.0
        terms: list[tuple[str, float]] = []
        for name, table, value in zip(FEATURE_NAMES, self.tables, record_features(record), strict=True):
            weight = table.get(value)
            if weight is not None:
                total += weight
                terms.append((f"{name}={value}", weight))
        terms.sort(key=lambda term: -abs(term[1]))
        decision = total + self.intercept
        probability = 1.0 / (1.0 + math.exp(-decision))
        return probability, [(label, round(weight, 4)) for label, weight in terms[: self.top]]
