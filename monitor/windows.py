"""Sliding windows of joined predictions per model version: by count, and by event time."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from monitor.join import Joined
from monitor.online_metrics import WindowMetrics, window_metrics
from schemas.model_control import ModelRole

ModelKey = tuple[ModelRole, str]  # role, version


@dataclass
class _Window:
    threshold: float
    pairs: deque[tuple[float, float, bool]]  # departure, probability, delayed


@dataclass
class ModelWindows:
    """The recent joined predictions of each (role, version), bounded by `keep`."""

    window_events: int
    window_s: float
    keep: int = 100_000
    _models: dict[ModelKey, _Window] = field(default_factory=dict)

    def add(self, joined: Joined) -> ModelKey:
        prediction = joined.prediction
        key = (prediction.role, prediction.version)
        window = self._models.get(key)
        if window is None:
            window = self._models[key] = _Window(prediction.threshold, deque(maxlen=self.keep))
        window.pairs.append((joined.outcome.departure_s, prediction.probability, joined.outcome.delayed))
        return key

    def figures(self, key: ModelKey) -> dict[str, WindowMetrics]:
        """The model's figures over the last `window_events` pairs and over the last `window_s` of event time."""
        window = self._models[key]
        rows = np.array(list(window.pairs), dtype=np.float64).reshape(-1, 3)
        by_count = rows[-self.window_events :]
        by_time = rows[rows[:, 0] >= rows[:, 0].max() - self.window_s] if len(rows) else rows
        return {
            "events": window_metrics(by_count[:, 1], by_count[:, 2] > 0, window.threshold),
            "event_time": window_metrics(by_time[:, 1], by_time[:, 2] > 0, window.threshold),
        }

    def models(self) -> list[ModelKey]:
        return sorted(self._models)
