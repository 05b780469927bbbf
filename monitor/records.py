"""Input records of the monitor, read into the join's types; and the offsets it commits with what a rebuild needs."""

from __future__ import annotations

import json
from collections.abc import Mapping

from confluent_kafka import Message, TopicPartition
from pydantic import ValidationError

from monitor.join import JoinState, Outcome, Prediction
from schemas import DelayPrediction
from schemas.outcome import FlightOutcome


def parse(message: Message, role_of_topic: Mapping[str, str]) -> Prediction | Outcome | str:
    """A prediction (from a prediction topic), an outcome, or why the record is neither."""
    topic, value = message.topic() or "", message.value() or b""
    position = (topic, message.partition() or 0, message.offset() or 0)
    try:
        if topic in role_of_topic:
            p = DelayPrediction.model_validate_json(value)
            departure = p.scheduled_departure.timestamp()
            role = role_of_topic[topic]
            return Prediction(p.flight_id, role, p.model_version, p.delay_probability, p.threshold, departure, position)
        o = FlightOutcome.model_validate_json(value)
        return Outcome(o.flight_id, o.delayed, o.delay_minutes, o.scheduled_departure.timestamp(), position)
    except ValidationError as exc:
        return f"{topic} partition {position[1]} offset {position[2]}: {exc.errors(include_url=False)[0]['msg']}"


def commit_point(topic: str, partition: int, offset: int, state: JoinState) -> TopicPartition:
    """The offset to commit, carrying where a rebuild reads this partition from and the state's watermark."""
    replay_from = state.replay_from().get((topic, partition), offset)
    metadata = json.dumps({"replay_from": replay_from, "newest_s": state.newest_s})
    return TopicPartition(topic, partition, offset, metadata=metadata)


def rebuild_plan(committed: list[TopicPartition]) -> tuple[dict[str, float], dict[tuple[str, int], tuple[int, int]]]:
    """From committed offsets of one partition's topics: the newest departure of each input (the state's
    watermark), and per topic the range [from, to) to re-read. Nothing was committed yet: nothing to re-read."""
    newest: dict[str, float] = {}
    ranges: dict[tuple[str, int], tuple[int, int]] = {}
    for point in committed:
        if point.offset < 0:
            continue
        saved = json.loads(point.metadata) if point.metadata else {}
        for side, departure_s in saved.get("newest_s", {}).items():
            newest[side] = max(newest.get(side, departure_s), float(departure_s))
        start = int(saved.get("replay_from", point.offset))
        if start < point.offset:
            ranges[(point.topic, point.partition)] = (start, point.offset)
    return newest, ranges
