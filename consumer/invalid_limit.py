"""Fail closed: stop the scorer when too large a share of recent input is invalid.

A broken producer should page someone, not silently drain the input topic into the dead-letter topic. Once the
cause is understood, an operator lets a known burst through with a one-off allowance
(`SCORER_INVALID_ALLOWANCE`): those invalid events are dead-lettered and not counted against the ratio.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Admission:
    """What to do with a batch: fail closed, or go on counting `counted` of its invalid events."""

    fail_closed: bool
    counted: int = 0  # invalid events that enter the ratio window
    allowed: int = 0  # invalid events taken from the allowance instead


class InvalidRatioLimit:
    """Share of invalid events over (about) the last `window` events, checked once `min_events` were seen."""

    def __init__(self, max_ratio: float, window: int, min_events: int, allowance: int = 0) -> None:
        self.max_ratio = max_ratio
        self.window = window
        self.min_events = min_events
        self.allowance = allowance
        self._batches: deque[tuple[int, int]] = deque()
        self._total = 0
        self._invalid = 0

    def admit(self, valid: int, invalid: int) -> Admission:
        """Decide on a batch before it is committed; changes nothing (a batch may be re-read and decided again)."""
        if not self.exceeded_with(valid, invalid):
            return Admission(False, counted=invalid)
        if 0 < invalid <= self.allowance:
            return Admission(False, counted=0, allowed=invalid)
        return Admission(True)

    def record(self, valid: int, admission: Admission) -> None:
        """Count a batch that was committed (a batch re-read after an abort is recorded once, when it commits)."""
        self._batches, self._total, self._invalid = self._after(valid, admission.counted)
        self.allowance -= admission.allowed

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
