"""Is the stream still the population the model was trained on? The population stability index per feature and
for the score, over a sliding window of events, against the manifest's reference profile.

PSI = sum over categories of (observed share - reference share) * ln(observed / reference). Its usual reading
(below 0.1 stable, above 0.2 a significant shift) holds for large windows only: for n events from the reference
population itself, n * PSI is close to a chi-squared variable with k - 1 degrees of freedom (k categories), so a
small window shows a large PSI by chance alone. A feature drifts when its PSI exceeds both 0.2 and the 99.9th
percentile of what chance gives at this window size, and never on fewer than `MIN_EVENTS` events. Categories
too rare to expect a few events of in the window are compared as one bucket.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MIN_EVENTS = 200
MIN_EXPECTED = 10  # events a category must be expected to have in the window to be compared on its own
SIGNIFICANT_PSI = 0.2
FLOOR = 1e-4  # the share of a category one side never saw: keeps the logarithm finite
_Z_999 = 3.0902  # the standard normal's 99.9th percentile
_RARE = "(rare)"


@dataclass(frozen=True)
class Shift:
    """One category's share in the reference and in the window, and its term of the PSI."""

    category: str
    reference: float
    observed: float
    contribution: float


@dataclass(frozen=True)
class Drift:
    """One feature's (or the score's) verdict over a window."""

    name: str
    psi: float
    threshold: float
    events: int
    drifting: bool
    shifts: list[Shift]  # the categories that moved most, largest term first

    def describe(self) -> str:
        moved = ", ".join(f"{s.category} {s.reference:.1%} -> {s.observed:.1%}" for s in self.shifts)
        return f"{self.name}: PSI {self.psi:.3f} over {self.events} events (threshold {self.threshold:.3f}); {moved}"


def chi2_quantile(degrees: int, z: float = _Z_999) -> float:
    """The chi-squared quantile at the normal quantile `z` (Wilson and Hilferty's approximation, good to a few
    percent from one degree of freedom up: enough for a threshold)."""
    k = max(degrees, 1)
    return k * (1 - 2 / (9 * k) + z * math.sqrt(2 / (9 * k))) ** 3


def psi_threshold(categories: int, events: int) -> float:
    """The PSI above which `events` events from `categories` categories are not plausibly the reference."""
    return max(SIGNIFICANT_PSI, chi2_quantile(categories - 1) / max(events, 1))


def psi(reference: Mapping[str, float], counts: Mapping[str, int], top: int = 3) -> tuple[float, list[Shift], int]:
    """The PSI of observed counts against reference shares, the `top` categories that moved most, and how many
    buckets the PSI was taken over.

    Categories this window would expect fewer than `MIN_EXPECTED` events of (and categories the reference never
    saw) are pooled into one bucket: on them the chi-squared reading fails, and one stray event of a rare
    category would look like a shift. A new category arriving in numbers still moves the pooled bucket, and the
    shifts name it.
    """
    total = sum(counts.values())
    if total == 0:
        return 0.0, [], 0
    rare = {c for c, share in reference.items() if share * total < MIN_EXPECTED} | (counts.keys() - reference.keys())
    pooled_reference: dict[str, float] = {}
    pooled_counts: Counter[str] = Counter()
    for category, share in reference.items():
        bucket = _RARE if category in rare else category
        pooled_reference[bucket] = pooled_reference.get(bucket, 0.0) + share
    for category, count in counts.items():
        pooled_counts[_RARE if category in rare else category] += count
    buckets = pooled_reference.keys() | pooled_counts.keys()
    value = sum(_term(pooled_reference.get(b, 0.0), pooled_counts.get(b, 0) / total, total) for b in buckets)
    shifts = [
        Shift(category, reference.get(category, 0.0), counts.get(category, 0) / total,
              _term(reference.get(category, 0.0), counts.get(category, 0) / total, total))
        for category in reference.keys() | counts.keys()
    ]  # fmt: skip
    shifts.sort(key=lambda shift: (-shift.contribution, shift.category))
    return value, shifts[:top], len(buckets)


def _term(reference: float, observed: float, events: int) -> float:
    """One bucket's PSI term; a bucket no event fell in counts as half an event (the usual correction: a
    share of zero would make the logarithm infinite, a tiny floor would make one empty bucket look like drift)."""
    expected, seen = max(reference, FLOOR), max(observed, 0.5 / events)
    return (seen - expected) * math.log(seen / expected)


def assess(name: str, reference: Mapping[str, float], counts: Mapping[str, int]) -> Drift:
    """The verdict on one feature: its PSI, the threshold for this many events, and whether it drifts."""
    events = sum(counts.values())
    value, shifts, buckets = psi(reference, counts)
    threshold = psi_threshold(buckets, events)
    return Drift(name, value, threshold, events, events >= MIN_EVENTS and value > threshold, shifts)


class CategoryWindow:
    """The last `size` rows of categorical values, with each column's counts kept as rows come and go."""

    def __init__(self, names: Sequence[str], size: int) -> None:
        self.names = tuple(names)
        self._rows: deque[tuple[str, ...]] = deque()
        self.size = size
        self.counts: dict[str, Counter[str]] = {name: Counter() for name in self.names}

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, row: tuple[str, ...]) -> None:
        self._rows.append(row)
        for name, value in zip(self.names, row, strict=True):
            self.counts[name][value] += 1
        if len(self._rows) > self.size:
            for name, value in zip(self.names, self._rows.popleft(), strict=True):
                self.counts[name][value] -= 1
                if not self.counts[name][value]:
                    del self.counts[name][value]

    def assess(self, references: Mapping[str, Mapping[str, float]]) -> list[Drift]:
        """Each column's verdict against its reference (columns without one are left out)."""
        return [assess(name, references[name], self.counts[name]) for name in self.names if name in references]
