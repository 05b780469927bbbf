"""Online against offline: the stream features each prediction was scored with, recomputed by the training
definition from the events and outcomes the monitor reads, feature by feature.

A prediction is checked when it joins its flight's outcome, hours after it was scored: by then every outcome
known before the event has long been published, so an outcome the scorer had not read in time (a late
producer, a departures feed behind) shows as a mismatch, as a backfill would show it. The monitor holds the
departures topic whole like a scorer (`training.departures_table`), reads it to its end before it checks, and
checks nothing when it cannot (counted as unchecked, never as a mismatch). Values are compared exactly: both
sides compute them from integer seconds, so any difference is a real one.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from monitor.join import Joined
from monitor.records import FlightRow
from training.stream_features import STREAM_FEATURE_NAMES

Keys = tuple[str, str, str]


class FeatureSource(Protocol):
    """What the check reads the training definition's values from: a `DeparturesTable`."""

    def catch_up(self, max_wait_s: float) -> bool: ...

    def features(self, known_at: Sequence[int], keys: Sequence[Keys]) -> Any: ...

    def close(self) -> None: ...


@dataclass
class ConsistencyCounts:
    """Values compared and those that differed, per feature; predictions checked; and those not checked, by why."""

    predictions: int = 0
    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STREAM_FEATURE_NAMES, 0))
    mismatched: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STREAM_FEATURE_NAMES, 0))
    unchecked: dict[str, int] = field(default_factory=dict)

    def add(self, other: ConsistencyCounts) -> None:
        self.predictions += other.predictions
        for name in STREAM_FEATURE_NAMES:
            self.values[name] += other.values[name]
            self.mismatched[name] += other.mismatched[name]
        for reason, count in other.unchecked.items():
            self.unchecked[reason] = self.unchecked.get(reason, 0) + count

    def __bool__(self) -> bool:
        return bool(self.predictions or self.unchecked)


UNCHECKED_REASONS = ("event_not_read", "departures_behind")


def differs(carried: float | None, recomputed: float) -> bool:
    """A carried value (None: nothing was known) against the definition's (NaN: nothing was known)."""
    if carried is None or (isinstance(carried, float) and math.isnan(carried)):
        return not math.isnan(recomputed)
    return math.isnan(recomputed) or carried != recomputed


class StreamConsistency:
    """Remembers what the flight events say (bounded), and checks the joined predictions that carry values."""

    def __init__(self, source: FeatureSource, catch_up_s: float, max_events: int) -> None:
        self.source = source
        self.catch_up_s = catch_up_s
        self.max_events = max_events
        self.totals = ConsistencyCounts()
        self._events: OrderedDict[str, tuple[int, Keys]] = OrderedDict()

    def observe(self, flights: Sequence[FlightRow]) -> None:
        for flight in flights:
            if flight.flight_id:
                self._events[flight.flight_id] = (flight.known_at_s, flight.keys)
                self._events.move_to_end(flight.flight_id)
        while len(self._events) > self.max_events:
            self._events.popitem(last=False)

    def check(self, joined: Sequence[Joined]) -> ConsistencyCounts:
        """The counts of this batch's joined predictions (added to `totals` by `record`, once committed)."""
        counts = ConsistencyCounts()
        carrying = [pair.prediction for pair in joined if pair.prediction.stream_values is not None]
        if not carrying:
            return counts
        known = [p for p in carrying if p.flight_id in self._events]
        if len(known) < len(carrying):
            counts.unchecked["event_not_read"] = len(carrying) - len(known)
        if not known:
            return counts
        if not self.source.catch_up(self.catch_up_s):
            counts.unchecked["departures_behind"] = counts.unchecked.get("departures_behind", 0) + len(known)
            return counts
        events = [self._events[p.flight_id] for p in known]
        recomputed = self.source.features([t for t, _ in events], [keys for _, keys in events])
        for prediction, row in zip(known, recomputed, strict=True):
            assert prediction.stream_values is not None
            counts.predictions += 1
            for name, carried, value in zip(STREAM_FEATURE_NAMES, prediction.stream_values, row, strict=True):
                counts.values[name] += 1
                counts.mismatched[name] += differs(carried, float(value))
        return counts

    def record(self, counts: ConsistencyCounts) -> None:
        self.totals.add(counts)
