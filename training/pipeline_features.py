"""The feature step of the model pipeline: `training.features.build_features` as a scikit-learn transformer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from training.features import FEATURE_NAMES, build_features


class FlightFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """First step of the model pipeline: raw flights in, categorical features out (stateless)."""

    def fit(self, raw: pd.DataFrame, y: object = None) -> FlightFeatures:
        return self

    def transform(self, raw: pd.DataFrame) -> pd.DataFrame:
        return build_features(raw)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray[Any, Any]:
        return np.asarray(FEATURE_NAMES, dtype=object)
