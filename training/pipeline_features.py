"""The feature step of the model pipeline: `training.features.build_features` as a scikit-learn transformer,
with the stream features (`training.stream_features`) as binned categories when the model uses them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from training.features import FEATURE_NAMES, build_features
from training.stream_features import BINS, STREAM_FEATURE_NAMES, bin_edges, bin_labels


class FlightFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """First step of the model pipeline: raw flights in, categorical features out.

    `stream_features` names the stream features used (columns of the raw frame, as `training.stream_backfill`
    adds them); `fit` learns their bin edges from the training rows, up to `bins` bins each (a hyper-parameter,
    chosen on validation with the regularisation). Without them the step is stateless.
    """

    def __init__(self, stream_features: tuple[str, ...] = (), bins: int = BINS) -> None:
        self.stream_features = stream_features
        self.bins = bins

    def fit(self, raw: pd.DataFrame, y: object = None) -> FlightFeatures:
        unknown = [name for name in self.stream_features if name not in STREAM_FEATURE_NAMES]
        if unknown:
            raise ValueError(f"unknown stream features {unknown}; known: {list(STREAM_FEATURE_NAMES)}")
        self._require_columns(raw)
        self.stream_edges_ = {name: bin_edges(raw[name].to_numpy(), self.bins) for name in self.stream_features}
        return self

    def transform(self, raw: pd.DataFrame) -> pd.DataFrame:
        features = build_features(raw)
        if not self.stream_features:
            return features
        self._require_columns(raw)
        binned = {name: bin_labels(raw[name].to_numpy(), self.stream_edges_[name]) for name in self.stream_features}
        return pd.concat([features, pd.DataFrame(binned, index=raw.index)], axis=1)

    def _require_columns(self, raw: pd.DataFrame) -> None:
        missing = [name for name in self.stream_features if name not in raw.columns]
        if missing:
            raise KeyError(
                f"the flights lack the stream features {missing[:3]}{' ...' if len(missing) > 3 else ''}: add them "
                "with training.stream_backfill.with_stream_features"
            )

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray[Any, Any]:
        return np.asarray((*FEATURE_NAMES, *self.stream_features), dtype=object)
