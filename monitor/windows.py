"""Sliding windows of joined predictions per model version: by count, and by event time."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitor.join import Joined
from monitor.online_metrics import WindowMetrics, window_metrics
from schemas.model_control import ModelRole

ModelKey = tuple[ModelRole, str]  # role, version


@dataclass(frozen=True)
class WindowSample:
    probability: np.ndarray[Any, Any]
    delayed: np.ndarray[Any, Any]
    threshold: float

    def figures(self) -> WindowMetrics:
        return window_metrics(self.probability, self.delayed, self.threshold)


@dataclass
class _Window:
    threshold: float
    pairs: deque[tuple[float, float, bool]]  # departure, probability, delayed
    joined: int = 0  # pairs ever added (the deque keeps the newest `keep`)


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
        window.joined += 1
        return key

    def joined(self, key: ModelKey) -> int:
        """Pairs the model ever had joined: unchanged, its figures are too."""
        return self._models[key].joined

    def samples(self, key: ModelKey) -> dict[str, WindowSample]:
        """The model's last `window_events` pairs (`events`) and those of the last `window_s` of event time."""
        window = self._models[key]
        rows = np.array(list(window.pairs), dtype=np.float64).reshape(-1, 3)
        by_count = rows[-self.window_events :]
        by_time = rows[rows[:, 0] >= rows[:, 0].max() - self.window_s] if len(rows) else rows
        return {
            name: WindowSample(chosen[:, 1], chosen[:, 2] > 0, window.threshold)
            for name, chosen in (("events", by_count), ("event_time", by_time))
        }

    def figures(self, key: ModelKey) -> dict[str, WindowMetrics]:
        """The model's figures over each window of `samples`."""
        return {name: sample.figures() for name, sample in self.samples(key).items()}

    def models(self) -> list[ModelKey]:
        return sorted(self._models)
