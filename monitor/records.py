"""Input records of the monitor, read into the join's types; and the offsets it commits with what a rebuild needs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka import Message, TopicPartition
from pydantic import ValidationError

from monitor.join import JoinState, Outcome, Prediction
from schemas import DelayPrediction, FlightEvent
from schemas.model_control import ModelRole
from schemas.outcome import FlightOutcome
from training.departures_table import known_at
from training.features import flight_features
from training.reference import drift_row
from training.stream_features import santiago_seconds, stream_keys


@dataclass(frozen=True, slots=True)
class FlightRow:
    """A flight event's drift-watched feature values (`training.reference.DRIFT_FEATURES` order), when it
    departs (what the report orders drift windows by), and what its stream features are computed from: its id,
    when it was known (Santiago wall-clock seconds) and its (airline, destination, flight) keys."""

    values: tuple[str, ...]
    departure_s: float = 0.0
    flight_id: str = ""
    known_at_s: int = 0
    keys: tuple[str, str, str] = ("", "", "")


def parse(
    message: Message, role_of_topic: Mapping[str, ModelRole], input_topic: str = ""
) -> Prediction | Outcome | FlightRow | str:
    """A prediction (from a prediction topic), an outcome, a flight event's features, or why it is none."""
    topic, value = message.topic() or "", message.value() or b""
    position = (topic, message.partition() or 0, message.offset() or 0)
    try:
        if topic == input_topic:  # the scorer dead-letters what is invalid; drift counts only what it scores
            contract = FlightEvent.__name__
            e = FlightEvent.model_validate_json(value)
            features = flight_features(
                e.local_departure, e.airline_name, e.flight_type, e.destination, e.airline_code, e.flight_number
            )
            return FlightRow(
                drift_row(features),
                e.scheduled_departure.timestamp(),
                e.resolved_id(),
                known_at(message.headers(), message.timestamp()[1]),
                stream_keys(e.airline_name, e.destination, e.airline_code, e.flight_number),
            )
        if topic in role_of_topic:
            contract = DelayPrediction.__name__
            p = DelayPrediction.model_validate_json(value)
            departure = p.scheduled_departure.timestamp()
            role = role_of_topic[topic]
            stream = None if p.stream_features is None else tuple(p.stream_features)
            return Prediction(
                p.flight_id, role, p.model_version, p.delay_probability, p.threshold, departure, position, stream
            )
        contract = FlightOutcome.__name__
        o = FlightOutcome.model_validate_json(value)
        known = santiago_seconds(o.actual_departure)
        return Outcome(o.flight_id, o.delayed, o.delay_minutes, o.scheduled_departure.timestamp(), position, known)
    except ValidationError as exc:
        return f"{topic} partition {position[1]} offset {position[2]} is not a {contract}: {_problems(exc)}"


def _problems(exc: ValidationError, shown: int = 3) -> str:
    """Each field and what is wrong with it (the first few), so the log line alone says what to fix."""
    errors = exc.errors(include_url=False)
    listed = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'the value'}: {e['msg']}" for e in errors[:shown])
    return listed + (f"; and {len(errors) - shown} more" if len(errors) > shown else "")


def commit_point(
    topic: str, partition: int, offset: int, state: JoinState, replay_from: dict[tuple[str, int], int]
) -> TopicPartition:
    """The offset to commit, carrying where a rebuild reads this partition from (`replay_from`: the state's
    `replay_from()`, computed once for all its topics) and the state's watermark."""
    start = replay_from.get((topic, partition), offset)
    metadata = json.dumps({"replay_from": start, "newest_s": state.newest_s, "watermark_s": state.watermark_s})
    return TopicPartition(topic, partition, offset, metadata=metadata)


@dataclass(frozen=True)
class RebuildPlan:
    """What a partition's state was at its last commit: the newest departure of each input, the watermark, and
    per topic the range [from, to) of records to re-read."""

    newest_s: dict[str, float]
    watermark_s: float
    ranges: dict[tuple[str, int], tuple[int, int]]


def rebuild_plan(committed: list[TopicPartition]) -> RebuildPlan:
    """From the committed offsets of one partition's topics. Nothing was committed yet: nothing to re-read."""
    newest: dict[str, float] = {}
    watermark = float("-inf")
    ranges: dict[tuple[str, int], tuple[int, int]] = {}
    for point in committed:
        if point.offset < 0:
            continue
        saved = json.loads(point.metadata) if point.metadata else {}
        for side, departure_s in saved.get("newest_s", {}).items():
            newest[side] = max(newest.get(side, departure_s), float(departure_s))
        watermark = max(watermark, float(saved.get("watermark_s", watermark)))
        start = int(saved.get("replay_from", point.offset))
        if start < point.offset:
            ranges[(point.topic, point.partition)] = (start, point.offset)
    return RebuildPlan(newest, watermark, ranges)
