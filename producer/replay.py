"""Replay `dataset_SCL.csv` as flight events, keyed by flight id, at a chosen rate."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import orjson
from confluent_kafka import KafkaError, Message, Producer

from schemas import FlightEvent

EventFormat = Literal["canonical", "dataset"]


@dataclass
class DeliveryReport:
    """What became of the events: delivered, failed (the broker refused them or they were never delivered)."""

    delivered: int = 0
    failed: int = 0
    first_error: str | None = None


def dataset_events(
    path: Path,
    start: int = 0,
    limit: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    event_format: EventFormat = "canonical",
) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) pairs from the CSV rows `start`... (0-based), optionally within scheduled dates."""
    with path.open(encoding="utf-8", newline="") as handle:
        sent = 0
        for index, row in enumerate(csv.DictReader(handle)):
            if index < start:
                continue
            if limit is not None and sent >= limit:
                return
            scheduled = date.fromisoformat(row["Fecha-I"][:10])
            if (date_from and scheduled < date_from) or (date_to and scheduled > date_to):
                continue
            event = FlightEvent.model_validate(row)
            flight_id = event.resolved_id()
            if event_format == "dataset":  # the row as it is, operated columns included: the scorer ignores them
                value = orjson.dumps(row)
            else:
                value = orjson.dumps({**event.model_dump(mode="json", exclude_none=True), "flight_id": flight_id})
            sent += 1
            yield flight_id.encode(), value


def publish(
    producer: Producer,
    topic: str,
    events: Iterable[tuple[bytes | None, bytes]],
    rate: float = 0.0,
    on_sent: Callable[[], None] | None = None,
    flush_timeout_s: float = 60.0,
) -> DeliveryReport:
    """Produce every event (at `rate` per second, or as fast as possible when 0) and wait for delivery."""
    report = DeliveryReport()

    def delivered(error: KafkaError | None, _message: Message) -> None:
        if error is None:
            report.delivered += 1
        else:
            report.failed += 1
            report.first_error = report.first_error or error.str()

    started = time.monotonic()
    for count, (key, value) in enumerate(events):
        if rate > 0:
            while (ahead := started + count / rate - time.monotonic()) > 0:
                producer.poll(min(ahead, 0.05))
        while True:
            try:
                producer.produce(topic, key=key, value=value, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
        if on_sent:
            on_sent()
    undelivered = producer.flush(flush_timeout_s)
    if undelivered:  # still queued: never delivered, so never counted above
        report.failed += undelivered
        report.first_error = report.first_error or (
            f"{undelivered:,} events still undelivered after {flush_timeout_s:.0f} s: is the broker reachable?"
        )
    return report
