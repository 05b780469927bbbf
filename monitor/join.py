"""Predictions joined with outcomes by flight id, within a horizon of event time: the monitor's only state.

Predictions wait for their flight's outcome; outcomes are kept for the horizon, because a flight has one
outcome but a prediction per model (the champion's and a challenger's, possibly later). Everything older than
the horizon behind the watermark is dropped, so the state stays bounded. The watermark is the newest departure
seen on the slowest input (champion predictions, challenger predictions, outcomes; an input not seen yet does not
count, and nothing is dropped before outcomes arrive at all): they are read from different topics, and a backlog
of one read ahead of another must not push the other's records out of the horizon. The watermark never goes
back, not even when an input is first seen, and a commit stores it: a rebuilt state then drops exactly what the
state it replaces had dropped. While an input stalls (no outcomes arrive at all, or a challenger was
cleared), `max_held` bounds each side instead: the oldest beyond it are dropped and counted.

The state is rebuilt after a restart by reading the input again (`replay_from`: per topic partition, the
earliest record the state still holds). Which pairs exist after a set of records does not depend on the order
they were read in, so a rebuilt state is the state that was committed.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field

from schemas.model_control import ModelRole

Position = tuple[str, int, int]  # topic, partition, offset


@dataclass(frozen=True, slots=True)
class Prediction:
    flight_id: str
    role: ModelRole  # "champion" (the prediction topic) or "challenger" (the shadow topic)
    version: str
    probability: float
    threshold: float
    departure_s: float  # scheduled departure, epoch seconds: the event time
    position: Position
    # the stream features it was scored with (`STREAM_FEATURE_NAMES` order; None: not known), for a version
    # that reads them: the monitor recomputes and compares them
    stream_values: tuple[float | None, ...] | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    flight_id: str
    delayed: bool
    delay_minutes: float
    departure_s: float
    position: Position
    known_at_s: int | None = None  # its actual departure, Santiago wall-clock seconds: when it became known


@dataclass(frozen=True, slots=True)
class Joined:
    prediction: Prediction
    outcome: Outcome


@dataclass
class JoinState:
    """One input partition's predictions still waiting and outcomes still kept."""

    horizon_s: float
    newest_s: dict[str, float] = field(default_factory=dict)  # per input (a role, or "outcome"): newest departure
    waiting: dict[str, list[Prediction]] = field(default_factory=lambda: defaultdict(list))
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    max_held: int = 500_000  # predictions waiting, and outcomes kept, at most
    dropped: int = 0  # held records dropped by `max_held` (not by the horizon)
    pending: int = 0  # predictions still waiting for their outcome
    watermark_s: float = float("-inf")
    newest_outcome_known_s: int | None = None  # the latest moment an outcome read was known at
    # (departure, flight id) of everything added, oldest first: eviction looks only at what the horizon passed.
    # An entry whose flight has gone, or now departs later, is skipped when it comes up.
    _waiting_by_age: list[tuple[float, str]] = field(default_factory=list, repr=False)
    _outcomes_by_age: list[tuple[float, str]] = field(default_factory=list, repr=False)

    def add_prediction(self, prediction: Prediction) -> Joined | None:
        self._seen(prediction.role, prediction.departure_s)
        outcome = self.outcomes.get(prediction.flight_id)
        if outcome is not None:
            return Joined(prediction, outcome)
        self.waiting[prediction.flight_id].append(prediction)
        self.pending += 1
        heapq.heappush(self._waiting_by_age, (prediction.departure_s, prediction.flight_id))
        return None

    def add_outcome(self, outcome: Outcome) -> list[Joined]:
        self._seen("outcome", outcome.departure_s)
        newest = self.newest_outcome_known_s
        if outcome.known_at_s is not None and (newest is None or outcome.known_at_s > newest):
            self.newest_outcome_known_s = outcome.known_at_s
        if outcome.flight_id in self.outcomes:
            return []  # a second outcome of one flight: the first one stands
        self.outcomes[outcome.flight_id] = outcome
        heapq.heappush(self._outcomes_by_age, (outcome.departure_s, outcome.flight_id))
        joined = [Joined(p, outcome) for p in self.waiting.pop(outcome.flight_id, [])]
        self.pending -= len(joined)
        return joined

    def evict(self) -> None:
        """Drop what is older than the horizon behind the watermark."""
        oldest = self.watermark_s - self.horizon_s
        while self._outcomes_by_age and self._outcomes_by_age[0][0] < oldest:
            _, flight_id = heapq.heappop(self._outcomes_by_age)
            outcome = self.outcomes.get(flight_id)
            if outcome is not None and outcome.departure_s < oldest:
                del self.outcomes[flight_id]
        while self._waiting_by_age and self._waiting_by_age[0][0] < oldest:
            _, flight_id = heapq.heappop(self._waiting_by_age)
            predictions = self.waiting.get(flight_id)
            if predictions and all(p.departure_s < oldest for p in predictions):
                self.pending -= len(self.waiting.pop(flight_id))
        if len(self.outcomes) > self.max_held:
            by_age = sorted(self.outcomes, key=lambda f: self.outcomes[f].departure_s)
            for flight_id in by_age[: len(self.outcomes) - self.max_held]:
                del self.outcomes[flight_id]
                self.dropped += 1
        if len(self.waiting) > self.max_held:
            by_age = sorted(self.waiting, key=lambda f: max(p.departure_s for p in self.waiting[f]))
            for flight_id in by_age[: len(self.waiting) - self.max_held]:
                dropped = len(self.waiting.pop(flight_id))
                self.dropped += dropped
                self.pending -= dropped

    def _seen(self, side: str, departure_s: float) -> None:
        newest = self.newest_s
        newest[side] = max(newest.get(side, departure_s), departure_s)
        if "outcome" in newest and len(newest) > 1:
            self.watermark_s = max(self.watermark_s, min(newest.values()))

    def replay_from(self) -> dict[tuple[str, int], int]:
        """Per topic partition, the offset of the earliest record the state holds: where a rebuild reads from."""
        earliest: dict[tuple[str, int], int] = {}
        held = [p.position for ps in self.waiting.values() for p in ps] + [o.position for o in self.outcomes.values()]
        for topic, partition, offset in held:
            key = (topic, partition)
            earliest[key] = min(earliest.get(key, offset), offset)
        return earliest
