"""Fail closed: stop the scorer when too large a share of recent input is invalid, or too long a run of it.

A broken producer should page someone, not silently drain the input topic into the dead-letter topic. Two
limits, as arroyo's `DlqLimit`: a share of the last events, and a number of invalid events in a row (which
catches a burst the share would dilute). Once the cause is understood, an operator lets a known burst through
with a one-off allowance (`SCORER_INVALID_ALLOWANCE`): those invalid events are dead-lettered and counted by
neither limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class InvalidRuns:
    """Where a batch's invalid events stand, in batch order: runs at its start and end, and the longest."""

    size: int = 0
    leading: int = 0
    longest: int = 0
    trailing: int = 0

    @classmethod
    def of(cls, size: int, positions: Sequence[int]) -> InvalidRuns:
        """From the sorted batch positions of the invalid events (work in their number, not the batch's)."""
        longest = current = 0
        previous = -2
        for position in positions:
            current = current + 1 if position == previous + 1 else 1
            longest = max(longest, current)
            previous = position
        leading = next((i for i, position in enumerate(positions) if position != i), len(positions))
        trailing = current if positions and positions[-1] == size - 1 else 0
        return cls(size, leading, longest, trailing)

    @property
    def all_invalid(self) -> bool:
        return self.size > 0 and self.leading == self.size


@dataclass(frozen=True)
class Admission:
    """What to do with a batch: fail closed (and why), or go on counting `counted` of its invalid events."""

    fail_closed: bool
    counted: int = 0  # invalid events that enter the ratio window
    allowed: int = 0  # invalid events taken from the allowance instead
    why: str = field(default="", compare=False)  # for people; decisions compare by what they do


class InvalidRatioLimit:
    """Share of invalid events over (about) the last `window` events, checked once `min_events` were seen, and
    the longest run of invalid events in a row (`max_consecutive`, 0 for no such limit)."""

    def __init__(
        self, max_ratio: float, window: int, min_events: int, allowance: int = 0, max_consecutive: int = 0
    ) -> None:
        self.max_ratio = max_ratio
        self.window = window
        self.min_events = min_events
        self.allowance = allowance
        self.max_consecutive = max_consecutive
        self._batches: deque[tuple[int, int]] = deque()
        self._total = 0
        self._invalid = 0
        self._run = 0  # invalid events in a row at the end of the last committed batch

    def admit(self, valid: int, invalid: int, runs: InvalidRuns | None = None) -> Admission:
        """Decide on a batch before it is committed; changes nothing (a batch may be re-read and decided again)."""
        runs = runs or InvalidRuns()
        longest = max(runs.longest, self._run + runs.leading if runs.leading else 0)
        over_run = 0 < self.max_consecutive < longest
        if not over_run and not self.exceeded_with(valid, invalid):
            return Admission(False, counted=invalid)
        if 0 < invalid <= self.allowance:
            return Admission(False, counted=0, allowed=invalid)
        if over_run:
            return Admission(True, why=f"{longest} invalid events in a row, above the limit of {self.max_consecutive}")
        return Admission(True, why=self.describe_with(valid, invalid))

    def record(self, valid: int, admission: Admission, runs: InvalidRuns | None = None) -> None:
        """Count a batch that was committed (a batch re-read after an abort is recorded once, when it commits)."""
        runs = runs or InvalidRuns()
        self._batches, self._total, self._invalid = self._after(valid, admission.counted)
        self.allowance -= admission.allowed
        if admission.allowed:
            self._run = 0  # a burst let through is forgiven by both limits
        else:
            self._run = self._run + runs.size if runs.all_invalid else runs.trailing

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
