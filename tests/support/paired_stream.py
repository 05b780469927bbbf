"""A synthetic stream of paired predictions: each flight's champion and challenger predictions and its outcome,
written straight to the monitor's input topics (no scorer), with the quality of each version chosen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from kafka_common.settings import TopicSettings
from schemas.outcome import FlightOutcome
from schemas.outputs import DelayPrediction, SourcePosition

START = datetime(2017, 3, 1, 12, tzinfo=UTC)
Record = tuple[str, bytes, bytes]  # topic, key, value


def paired_flights(
    topics: TopicSettings,
    prefix: str,
    champion: tuple[str, float],
    challenger: tuple[str, float],
    flights: int,
    seed: int,
) -> list[Record]:
    """`flights` flights; each version's score is the true log-odds plus normal noise of its sd (version, sd):
    the less noise, the better the version. Outcomes are drawn from the true probabilities."""
    rng = np.random.default_rng(seed)
    true_log_odds = rng.normal(-1.3, 1.2, flights)
    delayed = rng.random(flights) < 1 / (1 + np.exp(-true_log_odds))
    records: list[Record] = []
    for i in range(flights):
        flight_id = f"{prefix}-{i}"
        departure = START + timedelta(minutes=i)
        for topic, (version, noise) in ((topics.predictions, champion), (topics.shadow_predictions, challenger)):
            probability = float(1 / (1 + np.exp(-(true_log_odds[i] + rng.normal(0, noise)))))
            prediction = DelayPrediction(
                flight_id=flight_id, delay_probability=probability, delayed=probability >= 0.3, threshold=0.3,
                model_version=version, top_contributions=[], unseen_categories=[], scheduled_departure=departure,
                event_time=departure - timedelta(hours=1), scored_at=departure - timedelta(hours=1),
                source=SourcePosition(topic=topics.input, partition=0, offset=i),
            )  # fmt: skip
            records.append((topic, flight_id.encode(), prediction.model_dump_json().encode()))
        minutes = 40.0 if delayed[i] else 0.0
        outcome = FlightOutcome(
            flight_id=flight_id, scheduled_departure=departure, actual_departure=departure + timedelta(minutes=minutes),
            delay_minutes=minutes, delayed=bool(delayed[i]),
        )  # fmt: skip
        records.append((topics.outcomes, flight_id.encode(), outcome.model_dump_json().encode()))
    return records
