"""Champion and challenger predictions of the same flight, paired once both are joined with its outcome.

The shadow scores every event the champion scores, in the same transaction, so each flight both versions scored
is one paired observation of the two. A flight's two joined predictions arrive in either order (they are read
from two topics); the first waits here, bounded, for the second. The pairs of one (champion, challenger) lineup
accumulate from the first pair on: the comparison's intervals are valid over that growing sample, looked at as
often as the monitor likes. When a lineup exceeds `keep` pairs the oldest leave, and the guarantee then holds
for the most recent `keep` flights.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitor.join import Joined
from schemas.model_control import ModelRole

Lineup = tuple[str, str]  # champion version, challenger version


@dataclass(frozen=True, slots=True)
class _Side:
    role: ModelRole
    version: str
    probability: float
    threshold: float
    delayed: bool
    departure_s: float


@dataclass
class PairedSample:
    """One lineup's paired flights: both probabilities, the outcome and the scheduled departure, in the order
    they were paired."""

    champion_threshold: float
    challenger_threshold: float
    rows: deque[tuple[float, float, bool, float]]
    paired: int = 0  # pairs ever added (`rows` keeps the newest)

    def arrays(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """(delayed, champion probability, challenger probability) of every pair."""
        table = self._table()
        return table[:, 2] > 0, table[:, 0], table[:, 1]

    def departures(self) -> np.ndarray[Any, Any]:
        return self._table()[:, 3]

    def _table(self) -> np.ndarray[Any, Any]:
        return np.array(list(self.rows), dtype=np.float64).reshape(-1, 4)


@dataclass
class PairedFlights:
    keep: int = 200_000  # pairs per lineup
    waiting_at_most: int = 100_000  # flights with one side joined, waiting for the other
    _waiting: OrderedDict[str, _Side] = field(default_factory=OrderedDict)
    _lineups: dict[Lineup, PairedSample] = field(default_factory=dict)
    unpaired_dropped: int = 0

    def add(self, joined: Joined) -> Lineup | None:
        """Take one joined prediction; return the lineup it completed a pair of, if it did."""
        p = joined.prediction
        side = _Side(p.role, p.version, p.probability, p.threshold, joined.outcome.delayed, p.departure_s)
        other = self._waiting.get(p.flight_id)
        if other is None or other.role == side.role:
            # First of the flight, or the same role again (a re-scored event): the newest stands.
            self._waiting[p.flight_id] = side
            self._waiting.move_to_end(p.flight_id)
            while len(self._waiting) > self.waiting_at_most:
                self._waiting.popitem(last=False)
                self.unpaired_dropped += 1
            return None
        del self._waiting[p.flight_id]
        champion, challenger = (side, other) if side.role is ModelRole.CHAMPION else (other, side)
        lineup = (champion.version, challenger.version)
        sample = self._lineups.get(lineup)
        if sample is None:
            sample = self._lineups[lineup] = PairedSample(
                champion.threshold, challenger.threshold, deque(maxlen=self.keep)
            )
        sample.rows.append((champion.probability, challenger.probability, champion.delayed, champion.departure_s))
        sample.paired += 1
        return lineup

    def lineups(self) -> dict[Lineup, PairedSample]:
        return dict(self._lineups)
