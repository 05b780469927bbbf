"""Fail closed: stop the scorer when too large a share of recent input is invalid.

A broken producer should page someone, not silently drain the input topic into the dead-letter topic.
"""

from __future__ import annotations

from collections import deque


class InvalidRatioLimit:
    """Share of invalid events over (about) the last `window` events, checked once `min_events` were seen."""

    def __init__(self, max_ratio: float, window: int, min_events: int) -> None:
        self.max_ratio = max_ratio
        self.window = window
        self.min_events = min_events
        self._batches: deque[tuple[int, int]] = deque()
        self._total = 0
        self._invalid = 0

    def record(self, valid: int, invalid: int) -> None:
        self._batches.append((valid, invalid))
        self._total += valid + invalid
        self._invalid += invalid
        while self._batches and self._total - sum(self._batches[0]) >= self.window:
            old_valid, old_invalid = self._batches.popleft()
            self._total -= old_valid + old_invalid
            self._invalid -= old_invalid

    @property
    def ratio(self) -> float:
        return self._invalid / self._total if self._total else 0.0

    def exceeded(self) -> bool:
        return self._total >= self.min_events and self.ratio > self.max_ratio

    def describe(self) -> str:
        return (
            f"{self._invalid} of the last {self._total} events were invalid ({self.ratio:.0%}), "
            f"above the limit of {self.max_ratio:.0%}"
        )
