"""Replay `dataset_SCL.csv` as flight events, keyed by flight id, at a chosen rate."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

import orjson
from confluent_kafka import KafkaError, Message, Producer
from pydantic import ValidationError

from producer.interrupt import FLUSH_AFTER_INTERRUPT_S, StopRequest
from schemas import FlightEvent
from schemas.flight_event import KNOWN_AT_HEADER, SANTIAGO
from schemas.outcome import FlightOutcome
from training.features import OPERATED_DEPARTURE, SCHEDULED_DEPARTURE

EventFormat = Literal["canonical", "dataset"]


class ReplayDataError(ValueError):
    """A dataset the replay cannot read whole: it says where, and nothing of it is sent."""


@dataclass
class DeliveryReport:
    """What became of the events: delivered, failed (the broker refused them or they were never delivered), not
    sent (a stop came first: never produced, or withdrawn from the client's queue before it left)."""

    delivered: int = 0
    failed: int = 0
    not_sent: int = 0
    first_error: str | None = None
    interrupted: bool = False

    def summary(self) -> str:
        return f"delivered {self.delivered:,}, failed {self.failed:,}, not sent {self.not_sent:,}"


DEFAULT_SPEED = 3600.0  # a simulated day in 24 s: a month replays in 12 minutes


def dataset_events(
    path: Path,
    start: int = 0,
    limit: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    event_format: EventFormat = "canonical",
) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) pairs from the CSV rows `start`... (0-based), optionally within scheduled dates."""
    for row, event in dataset_flights(path, start, limit, date_from, date_to):
        yield event_record(row, event, event_format)


def dataset_extent(path: Path) -> str:
    """What the file holds, for a selection that found nothing in it: its rows and their scheduled days."""
    with path.open(encoding="utf-8", newline="", errors="replace") as handle:
        days = [(row.get(SCHEDULED_DEPARTURE) or "")[:10] for row in csv.DictReader(handle)]
    if not days:
        return f"{path} holds no rows"
    return f"{path} holds {len(days):,} rows, scheduled {min(days)} to {max(days)}"


def dataset_flights(
    path: Path, start: int = 0, limit: int | None = None, date_from: date | None = None, date_to: date | None = None
) -> Iterator[tuple[dict[str, str], FlightEvent]]:
    """The CSV rows `start`... (0-based), optionally within scheduled dates, with their events. A file that is not
    UTF-8 text or has no `Fecha-I`, or a row the contract refuses, raises ReplayDataError naming the file."""
    try:
        yield from _flights(path, start, limit, date_from, date_to)
    except UnicodeDecodeError as exc:
        raise ReplayDataError(f"{path}: not UTF-8 text ({exc})") from None


def _flights(
    path: Path, start: int, limit: int | None, date_from: date | None, date_to: date | None
) -> Iterator[tuple[dict[str, str], FlightEvent]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if SCHEDULED_DEPARTURE not in (reader.fieldnames or []):
            raise ReplayDataError(f"{path}: no column {SCHEDULED_DEPARTURE!r}; found {reader.fieldnames or []}")
        sent = 0
        for index, row in enumerate(reader):
            if index < start:
                continue
            if limit is not None and sent >= limit:
                return
            try:
                scheduled = date.fromisoformat((row[SCHEDULED_DEPARTURE] or "")[:10])
                if (date_from and scheduled < date_from) or (date_to and scheduled > date_to):
                    continue
                event = FlightEvent.model_validate(row)
            except ValueError as exc:  # pydantic's ValidationError among them
                raise ReplayDataError(f"{path}, line {reader.line_num}: {_reason(exc)}") from None
            sent += 1
            yield row, event


def _reason(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(map(str, first['loc'])) or 'the row'}: {first['msg']}"
    return str(exc)


def event_record(row: dict[str, str], event: FlightEvent, event_format: EventFormat) -> tuple[bytes, bytes]:
    flight_id = event.resolved_id()
    if event_format == "dataset":  # the row as it is, operated columns included: the scorer ignores them
        return flight_id.encode(), orjson.dumps(row)
    return flight_id.encode(), orjson.dumps(
        {**event.model_dump(mode="json", exclude_none=True), "flight_id": flight_id}
    )


def publish(
    producer: Producer,
    topic: str,
    events: Iterable[tuple[bytes | None, bytes]],
    rate: float = 0.0,
    on_sent: Callable[[], None] | None = None,
    flush_timeout_s: float = 60.0,
    stop: StopRequest | None = None,
) -> DeliveryReport:
    """Produce every event (at `rate` per second, or as fast as possible when 0) and wait for delivery."""
    schedule = (
        Scheduled(count / rate if rate > 0 else 0.0, topic, key, value) for count, (key, value) in enumerate(events)
    )
    return publish_schedule(producer, schedule, on_sent, flush_timeout_s, stop)


@dataclass(frozen=True)
class Scheduled:
    """One record and when to send it: seconds after the first."""

    due_s: float
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, str | bytes | None]] | None = None
    # Sent only once every record before it was delivered: an event after the outcomes due before it, so a
    # scorer that reads the departures to their end before scoring it has them.
    after_delivery: bool = False


def publish_schedule(
    producer: Producer,
    schedule: Iterable[Scheduled],
    on_sent: Callable[[], None] | None = None,
    flush_timeout_s: float = 60.0,
    stop: StopRequest | None = None,
) -> DeliveryReport:
    """Produce each record when it is due (in order) and wait for delivery. Once `stop` is set, produce no more,
    wait a short bound for what was produced, withdraw the rest from the queue and count it as not sent."""
    report = DeliveryReport()
    stop = stop or StopRequest()

    def delivered(error: KafkaError | None, _message: Message) -> None:
        if error is None:
            report.delivered += 1
        elif error.code() == KafkaError._PURGE_QUEUE:  # withdrawn after a stop: it never left this process
            report.not_sent += 1
        else:
            report.failed += 1
            report.first_error = report.first_error or error.str()

    started = time.monotonic()
    items = iter(schedule)
    for item in items:
        while (ahead := started + item.due_s - time.monotonic()) > 0 and not stop.is_set():
            producer.poll(min(ahead, 0.05))
        if item.after_delivery:
            _flush(producer, flush_timeout_s, stop)
        while not stop.is_set():
            try:
                producer.produce(
                    item.topic, key=item.key, value=item.value, headers=item.headers, on_delivery=delivered
                )
                break
            except BufferError:
                producer.poll(0.05)
        if stop.is_set():
            report.interrupted = True
            report.not_sent += 1 + sum(1 for _ in items)
            break
        producer.poll(0)
        if on_sent:
            on_sent()
    undelivered = _flush(producer, flush_timeout_s, stop)
    if undelivered and stop.is_set():
        report.interrupted = True
        producer.purge(in_queue=True, in_flight=False)
        producer.flush(1.0)  # the withdrawn records' callbacks count them as not sent
        undelivered = len(producer)
    if undelivered:  # still queued or in flight: never acknowledged, so never counted above
        report.failed += undelivered
        report.first_error = report.first_error or (
            f"{undelivered:,} events still undelivered after {flush_timeout_s:.0f} s: is the broker reachable?"
        )
    return report


def _flush(producer: Producer, timeout_s: float, stop: StopRequest) -> int:
    """`flush` in short steps: a stop shortens the wait to `FLUSH_AFTER_INTERRUPT_S`, a second one ends it.
    Returns the number still undelivered."""
    deadline = time.monotonic() + timeout_s
    shortened = False
    while remaining := producer.flush(0.2):
        if stop.is_set() and not shortened:
            deadline, shortened = min(deadline, time.monotonic() + FLUSH_AFTER_INTERRUPT_S), True
        if stop.insistent or time.monotonic() >= deadline:
            break
    return remaining


def outcome_of(row: dict[str, str], event: FlightEvent) -> FlightOutcome:
    """The flight's outcome: its actual departure (`Fecha-O`, Santiago time) against the scheduled one."""
    try:
        departed = datetime.fromisoformat(row.get(OPERATED_DEPARTURE) or "").replace(tzinfo=SANTIAGO)
    except ValueError:
        value = row.get(OPERATED_DEPARTURE)
        raise ReplayDataError(
            f"flight {event.resolved_id()}: {OPERATED_DEPARTURE} {value!r} is not a date and time"
        ) from None
    return FlightOutcome.of(event.resolved_id(), event.scheduled_departure, departed, event)


def with_outcomes(
    flights: Iterable[tuple[dict[str, str], FlightEvent]],
    event_format: EventFormat,
    topics: tuple[str, str],
    speed: float,
    lead: timedelta,
) -> list[Scheduled]:
    """The flight events and, later, their outcomes, on a simulated clock running `speed` times real time (0: no
    waiting, the same order): each event `lead` before its scheduled departure, its outcome at the actual
    departure (never before the event). So a replayed month behaves like live days: predictions first, outcomes
    hours later. Each event carries its simulated moment (`KNOWN_AT_HEADER`) and is sent only after the
    outcomes due before it were delivered: what the stream features read is then what that moment knew."""
    timed: list[tuple[float, int, str, bytes, bytes]] = []
    for order, (row, event) in enumerate(flights):
        key, value = event_record(row, event, event_format)
        outcome = outcome_of(row, event)
        sent_at = (event.scheduled_departure - lead).timestamp()
        outcome_at = max(outcome.actual_departure.timestamp(), sent_at)
        timed.append((sent_at, 2 * order, topics[0], key, value))
        timed.append((outcome_at, 2 * order + 1, topics[1], key, outcome.model_dump_json().encode()))
    timed.sort()
    first = timed[0][0] if timed else 0.0
    schedule: list[Scheduled] = []
    for at, _, topic, key, value in timed:
        is_event = topic == topics[0]
        schedule.append(
            Scheduled(
                (at - first) / speed if speed > 0 else 0.0,
                topic,
                key,
                value,
                headers=[(KNOWN_AT_HEADER, str(round(at * 1000)).encode())] if is_event else None,
                after_delivery=is_event and bool(schedule) and schedule[-1].topic != topic,
            )
        )
    return schedule


def after_outcomes_before(
    schedule: list[Scheduled], data: Path, day: date, days: int, topic: str, lead: timedelta
) -> list[Scheduled]:
    """`schedule` (a replay starting at `day`) after the outcomes of the flights scheduled in the `days` days before
    it, sent at once in the order they became known, its first record only once they are delivered: they fill the
    stream features' windows as a live feed would have by then."""
    flights = dataset_flights(data, date_from=day - timedelta(days=days), date_to=day - timedelta(days=1))
    known = [item for item in with_outcomes(flights, "canonical", ("", topic), 0, lead) if item.topic == topic]
    if not schedule:
        return known
    return [*known, replace(schedule[0], after_delivery=True), *schedule[1:]]
