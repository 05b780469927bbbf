"""Drift, watched over the committed stream: the flight events' features against the champion's reference
profile, each version's scores against its own (`monitor.drift` says when a PSI means drift).

The windows take only what the monitor committed, as the joined pairs' windows do, and restart empty with the
process: a drift verdict needs a full window, not a rebuilt one.
"""

from __future__ import annotations

import logging

from monitor.drift import CategoryWindow, Drift
from monitor.join import Prediction
from monitor.metrics import MonitorMetrics
from monitor.records import FlightRow
from monitor.references import References
from training.reference import DRIFT_FEATURES, SCORE, score_bin

log = logging.getLogger("monitor")


class DriftWatch:
    def __init__(self, references: References, size: int, metrics: MonitorMetrics) -> None:
        self.references = references
        self.metrics = metrics
        self.flights = CategoryWindow(DRIFT_FEATURES, size)
        self.scores: dict[str, CategoryWindow] = {}  # by model version
        self._drifting: set[tuple[str, str]] = set()  # (feature or "score", version) drifting at the last report

    def observe(self, flights: list[FlightRow], predictions: list[Prediction]) -> None:
        """A committed batch's flight events and predictions (of versions with a known profile)."""
        self.metrics.read.labels(kind="flight").inc(len(flights))
        for flight in flights:
            self.flights.add(flight.values)
        for prediction in predictions:
            profile = self.references.by_version.get(prediction.version)
            if profile is not None:
                window = self.scores.setdefault(prediction.version, CategoryWindow((SCORE,), self.flights.size))
                window.add((score_bin(profile.score_edges, prediction.probability),))

    def report(self) -> None:
        """Each feature's verdict against the champion's reference, each version's score against its own."""
        self.references.refresh()
        verdicts: list[tuple[str, Drift]] = []
        champion, profile = self.references.champion, self.references.champion_profile
        if champion is not None and profile is not None:
            verdicts += [(champion, drift) for drift in self.flights.assess(profile.features)]
        for version, window in self.scores.items():
            reference = {SCORE: self.references.by_version[version].score_reference()}
            verdicts += [(version, drift) for drift in window.assess(reference)]
        for version, drift in verdicts:
            self.metrics.drift(version, drift)
            key = (drift.name, version)
            if drift.drifting and key not in self._drifting:
                self._drifting.add(key)
                log.warning("drift: %s", drift.describe(), extra={"model_version": version})
            elif not drift.drifting and key in self._drifting:
                self._drifting.discard(key)
                log.info("drift over: %s", drift.describe(), extra={"model_version": version})
