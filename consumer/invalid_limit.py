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
        """Count a batch that was committed (a batch re-read after an abort is recorded once, when it commits)."""
        self._batches, self._total, self._invalid = self._after(valid, invalid)

    def exceeded_with(self, valid: int, invalid: int) -> bool:
        """Whether the window would be over the limit with this batch in it; records nothing."""
        _, total, bad = self._after(valid, invalid)
        return total >= self.min_events and bad / total > self.max_ratio

    def describe_with(self, valid: int, invalid: int) -> str:
        _, total, bad = self._after(valid, invalid)
        ratio = bad / total if total else 0.0
        return f"{bad} of the last {total} events were invalid ({ratio:.0%}), above the limit of {self.max_ratio:.0%}"

    def _after(self, valid: int, invalid: int) -> tuple[deque[tuple[int, int]], int, int]:
        batches = deque(self._batches)
        batches.append((valid, invalid))
        total, bad = self._total + valid + invalid, self._invalid + invalid
        while batches and total - sum(batches[0]) >= self.window:
            old_valid, old_invalid = batches.popleft()
            total -= old_valid + old_invalid
            bad -= old_invalid
        return batches, total, bad
