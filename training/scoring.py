"""The serving path: raw flight records (dataset column names) -> delay probabilities, via the trained pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from training.features import records_to_frame


def delay_probabilities(pipeline: Pipeline, records: Iterable[Mapping[str, Any]]) -> np.ndarray:
    """One vectorised call for a whole batch; the pipeline's own feature step does the rest."""
    return np.asarray(pipeline.predict_proba(records_to_frame(records))[:, 1])
