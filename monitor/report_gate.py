"""The gate's evidence over time, for the report: each lineup's ROC-AUC gain with its always-valid interval as
its paired flights accumulated, by scheduled departure. The interval holds at every point at once, so the
figure may be read anywhere along it, as the monitor reads it after every batch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from monitor.comparison import compare_auc
from monitor.join import Joined, Outcome, Prediction
from monitor.pairing import Lineup, PairedFlights, PairedSample
from schemas.monitoring import JoinedPrediction

POINTS = 40  # looks drawn per lineup
FIRST_LOOK = 50  # pairs before the first point: fewer make an interval too wide to draw


@dataclass(frozen=True)
class GatePoint:
    departure_s: float  # of the newest pair counted
    flights: int
    effect: float  # challenger minus champion
    low: float
    high: float
    verdict: str


def paired_samples(joined: Iterable[JoinedPrediction]) -> dict[Lineup, PairedSample]:
    """Each lineup's pairs, paired as the monitor pairs them, the records taken in departure order."""
    records = sorted(joined, key=lambda r: r.scheduled_departure)
    pairs = PairedFlights(keep=len(records) + 1, waiting_at_most=len(records) + 1)
    for record in records:
        pairs.add(_as_joined(record))
    return pairs.lineups()


def gate_over_time(sample: PairedSample, points: int = POINTS) -> list[GatePoint]:
    """The ROC-AUC comparison over the first n pairs, at `points` growing n up to all of them."""
    delayed, champion, challenger = sample.arrays()
    departures = sample.departures()
    found = []
    for end in np.unique(np.linspace(min(FIRST_LOOK, len(delayed)), len(delayed), points).astype(int)):
        positives = int(delayed[:end].sum())
        if min(positives, end - positives) < 2:
            continue  # no ROC-AUC variance yet
        difference = compare_auc(delayed[:end], champion[:end], challenger[:end])
        found.append(
            GatePoint(
                float(departures[end - 1]), int(end), difference.effect, difference.low, difference.high,
                difference.verdict.value,
            )
        )  # fmt: skip
    return found


def _as_joined(record: JoinedPrediction) -> Joined:
    departure = record.scheduled_departure.timestamp()
    p, o = record.prediction, record.outcome
    return Joined(
        Prediction(
            record.flight_id, record.role, record.model_version, record.delay_probability, record.threshold,
            departure, (p.topic, p.partition, p.offset),
        ),
        Outcome(record.flight_id, record.delayed, record.delay_minutes, departure, (o.topic, o.partition, o.offset)),
    )  # fmt: skip
