"""Online against offline: the stream features each prediction was scored with, recomputed by the training
definition from the events and outcomes the monitor reads, feature by feature.

A prediction is checked when it joins its flight's outcome, hours after it was scored: by then every outcome
known before the event has long been published, so an outcome the scorer had not read in time (a late
producer, a departures feed behind) shows as a mismatch, as a backfill would show it. The monitor holds the
departures topic whole like a scorer (`training.departures_table`) and reads it to its end before it checks.
A prediction that cannot be checked yet waits: its flight event may be read after it joins (the monitor reads
its topics each at its own pace), and the departures may be slow to reach their end. Only a prediction pushed
out of the bounded wait is given up, counted as unchecked by why (never as a mismatch). Values are compared
exactly: both sides compute them from integer seconds, so any difference is a real one.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from monitor.join import Joined, Position, Prediction
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
    """Values compared and those that differed, per feature; predictions checked; those given up, by why; and
    the waiting predictions this batch settled (checked or given up), to let go once it is committed."""

    predictions: int = 0
    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STREAM_FEATURE_NAMES, 0))
    mismatched: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STREAM_FEATURE_NAMES, 0))
    unchecked: dict[str, int] = field(default_factory=dict)
    settled: list[Position] = field(default_factory=list)

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
    """Remembers what the flight events say and the joined predictions still to check (both bounded), and checks
    those it can."""

    def __init__(self, source: FeatureSource, catch_up_s: float, max_events: int) -> None:
        self.source = source
        self.catch_up_s = catch_up_s
        self.max_events = max_events
        self.totals = ConsistencyCounts()
        self._events: OrderedDict[str, tuple[int, Keys]] = OrderedDict()
        # keyed by where the prediction was read: a batch read again after an abort puts back the same ones
        self._waiting: OrderedDict[Position, Prediction] = OrderedDict()

    def observe(self, flights: Sequence[FlightRow]) -> None:
        for flight in flights:
            if flight.flight_id:
                self._events[flight.flight_id] = (flight.known_at_s, flight.keys)
                self._events.move_to_end(flight.flight_id)
        while len(self._events) > self.max_events:
            self._events.popitem(last=False)

    def check(self, joined: Sequence[Joined]) -> ConsistencyCounts:
        """This batch's counts: the joined predictions that carry values wait with the others, and every waiting
        one whose event is read is checked once the departures are read to their end. What is settled leaves the
        wait, and the counts reach `totals`, only when `record` is called for the committed batch."""
        counts = ConsistencyCounts()
        for pair in joined:
            if pair.prediction.stream_values is not None:
                self._waiting[pair.prediction.position] = pair.prediction
        if not self._waiting:
            return counts
        ready = [p for p in self._waiting.values() if p.flight_id in self._events]
        if ready and self.source.catch_up(self.catch_up_s):
            self._compare(ready, counts)
        self._give_up_beyond_bound(counts)
        return counts

    def record(self, counts: ConsistencyCounts) -> None:
        for position in counts.settled:
            self._waiting.pop(position, None)
        self.totals.add(counts)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _compare(self, ready: list[Prediction], counts: ConsistencyCounts) -> None:
        events = [self._events[p.flight_id] for p in ready]
        recomputed = self.source.features([t for t, _ in events], [keys for _, keys in events])
        for prediction, row in zip(ready, recomputed, strict=True):
            assert prediction.stream_values is not None
            counts.predictions += 1
            counts.settled.append(prediction.position)
            for name, carried, value in zip(STREAM_FEATURE_NAMES, prediction.stream_values, row, strict=True):
                counts.values[name] += 1
                counts.mismatched[name] += differs(carried, float(value))

    def _give_up_beyond_bound(self, counts: ConsistencyCounts) -> None:
        """The oldest waiting predictions past `max_events`, counted by why they could not be checked."""
        settled = set(counts.settled)
        excess = len(self._waiting) - len(settled) - self.max_events
        for position, prediction in self._waiting.items():
            if excess <= 0:
                break
            if position in settled:
                continue
            reason = "departures_behind" if prediction.flight_id in self._events else "event_not_read"
            counts.unchecked[reason] = counts.unchecked.get(reason, 0) + 1
            counts.settled.append(position)
            excess -= 1
