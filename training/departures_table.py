"""The departures topic as a table every scorer holds whole: the outcomes the stream features are computed from.

Each scorer reads every partition of the outcomes topic (no group: a global table beside its group's input), from
the topic's beginning (its retention bounds the read) and keeps the outcomes in `training.stream_features`'
`StreamState`. Before a batch is scored it catches up to the partitions' ends as of that moment, waiting at most
a bound: a batch scored without that catch-up says so, and scoring goes on. A record that is not an outcome is
counted and skipped, never fatal.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
from confluent_kafka import Consumer, IsolationLevel, KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from pydantic import ValidationError

from schemas.flight_event import KNOWN_AT_HEADER
from schemas.outcome import FlightOutcome
from stream_runtime.records import Headers, Record
from stream_runtime.recovery import ErrorFacts
from stream_runtime.topic_reader import OFFSET_BEGINNING, partitions_of, reader
from training.stream_features import STREAM_FEATURE_NAMES, StreamState, outcome_of, santiago_seconds
from training.stream_state import OutcomesHeld

try:
    import flightdelay_native as native
except ImportError:  # a Python-only install: `known_at` reads every record
    native = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
_FETCH = 1000
# How far behind the latest event seen an event of another partition may still be known and find every outcome
# its windows need: the input's partitions are read at their own pace (a replay's backlog, a rebalance). The
# table then holds at most this plus the longest window of outcomes (at SCL about 3,000).
OUT_OF_ORDER_SECONDS = 7 * 24 * 3600
# And how long, on the wall clock, that bound waits before it forgets: a replay compresses days into seconds, so a
# reader a few seconds behind (the monitor checking a prediction whose event it read late) is days behind.
KEEP_FOR_S = 300.0
# A catch-up that asked the partitions' ends and got a passing error waits this long before it asks again.
ASK_AGAIN_AFTER_S = 0.05
# Errors of a partition's ends that pass by themselves: a leader being elected (a new topic) or moving, a broker
# slow to answer. An admin client reports them without librdkafka's retriable flag, hence the codes.
PASSING_ERRORS = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError.OFFSET_NOT_AVAILABLE,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.NOT_CONTROLLER,
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
    }
)


@dataclass
class TableCounts:
    """What the table read: outcomes held, and records it could not use (not an outcome, or no flight keys)."""

    read: int = 0
    invalid: int = 0
    without_keys: int = 0
    catch_ups_missed: int = 0
    last_problem: str = field(default="")
    newest_departure: int | None = None  # the latest moment an outcome read was known at (its departure)


def ask_again(error: ErrorFacts, remaining_s: float) -> bool:
    """Whether a catch-up asks the partitions' ends again after `error`: a retriable one passes (a new topic's
    leaders still being elected, a leader moving), so it asks again while its bound leaves time for a wait and an
    answer; any other error, or no time left, ends the catch-up (it is counted missed, and scoring goes on)."""
    passing = error.retriable or error.code in PASSING_ERRORS
    return passing and not error.fatal and remaining_s > 2 * ASK_AGAIN_AFTER_S


class DeparturesTable:
    """All partitions of the outcomes topic, read into a `StreamState`."""

    def __init__(
        self,
        config: dict[str, Any],
        topic: str,
        clock: Callable[[], float] = time.monotonic,
        state: OutcomesHeld | None = None,
    ) -> None:
        """`state`: where the outcomes are held (`training.stream_state`); the reference by default."""
        self.topic = topic
        self.state: OutcomesHeld = state if state is not None else StreamState()
        self.counts = TableCounts()
        self._config = config
        self._consumer: Consumer | None = None
        self._partitions: list[int] = []
        self._admin: AdminClient | None = None
        self._newest: int | None = None  # the latest moment an event was known at, so far
        self._clock = clock
        self._newest_since: deque[tuple[float, int]] = deque()  # (clock, newest) each time the newest moved
        # Held while the outcomes change, and by a request's read (`for_requests`) from another thread.
        self._lock = threading.Lock()
        self.current = False  # the last catch-up reached the partitions' ends

    def for_requests(self) -> RequestView:
        """What ad-hoc requests read from another thread than the loop's (see `RequestView`)."""
        return RequestView(self)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def catch_up(self, max_wait_s: float) -> bool:
        """Read until every partition reaches its end as of now; False when `max_wait_s` ran out first (or the
        broker did not answer): the caller scores with what is held and says so."""
        self.current = self._catch_up(max_wait_s)
        return self.current

    def _catch_up(self, max_wait_s: float) -> bool:
        deadline = time.monotonic() + max_wait_s
        try:
            consumer = self._assigned(max_wait_s)
            if consumer is None:
                return False
            targets = self._ends_by(consumer, deadline)
            while not self._reached(consumer, targets):
                if time.monotonic() >= deadline:
                    self.counts.catch_ups_missed += 1
                    return False
                self._read(consumer, min(0.1, max(deadline - time.monotonic(), 0.0)))
        except KafkaException as exc:
            self.counts.catch_ups_missed += 1
            log.warning("departures table: cannot catch up with %s: %s", self.topic, exc)
            return False
        return True

    def poll(self) -> None:
        """Read what has arrived, without waiting (between batches)."""
        if self._consumer is not None:
            self._read(self._consumer, 0.0)

    def features(self, known_at: Sequence[int], keys: Sequence[tuple[str, str, str]]) -> np.ndarray[Any, Any]:
        """The stream features of events known at `known_at` (Santiago wall-clock seconds) for their (airline,
        destination, flight) keys; rows of `STREAM_FEATURE_NAMES` columns."""
        features = _features(self.state, known_at, keys)
        self.asked(known_at)
        return features

    def features_locked(self, known_at: Sequence[int], keys: Sequence[tuple[str, str, str]]) -> np.ndarray[Any, Any]:
        """`features` without the bookkeeping, read while no outcome changes: from another thread than the loop's."""
        with self._lock:
            return _features(self.state, known_at, keys)

    def asked(self, known_at: Sequence[int]) -> None:
        """Events known at `known_at` had their features read (here, or by the compiled lane from `state`): the
        newest moment moves on, and what no later event can need is forgotten."""
        newest = max(known_at, default=None)
        if newest is not None and (self._newest is None or newest > self._newest):
            self._newest = newest
            self._newest_since.append((self._clock(), newest))
        self._forget()

    def newest_departure_age_s(self) -> float | None:
        """Flight time from the newest departure read to the newest event whose features were read: what grows
        when the departures feed stops publishing while flights keep coming (a catch-up then still reaches the
        topic's end). Infinite when no departure was ever read; None before the first event."""
        return departure_age_s(self._newest, self.counts.newest_departure)

    def _forget(self) -> None:
        """Drop the outcomes no event `OUT_OF_ORDER_SECONDS` behind the newest one of `KEEP_FOR_S` ago needs."""
        settled = self._clock() - KEEP_FOR_S
        newest = None
        while self._newest_since and self._newest_since[0][0] <= settled:
            newest = self._newest_since.popleft()[1]
        if newest is not None:
            with self._lock:
                self.state.forget_before(newest - OUT_OF_ORDER_SECONDS)

    def _assigned(self, timeout_s: float) -> Consumer | None:
        if self._consumer is None:
            consumer = reader({**self._config, "logger": logging.getLogger("librdkafka")})
            partitions = partitions_of(consumer, self.topic, timeout_s)
            if partitions is None:
                consumer.close()
                log.warning("departures table: no topic %s yet", self.topic)
                return None
            consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])
            self._consumer, self._partitions = consumer, partitions
            self._admin = AdminClient(self._config, logger=logging.getLogger("librdkafka"))
        return self._consumer

    def _ends_by(self, consumer: Consumer, deadline: float) -> dict[int, int]:
        """`_ends`, asked again after a passing error while `deadline` allows (see `ask_again`)."""
        while True:
            try:
                return self._ends(consumer, max(deadline - time.monotonic(), ASK_AGAIN_AFTER_S))
            except KafkaException as exc:
                if not ask_again(ErrorFacts.of(exc.args[0]), deadline - time.monotonic()):
                    raise
                log.info("departures table: asking %s's ends again after %s", self.topic, exc)
                time.sleep(ASK_AGAIN_AFTER_S)

    def _ends(self, consumer: Consumer, timeout_s: float) -> dict[int, int]:
        """Per partition, the offset a read_committed read must reach as of now: its last stable offset (short of
        the high watermark while a transaction is open), or 0 when it holds nothing to read (empty, or emptied by
        retention), which a position not yet set reaches too. Asked of the broker in one request for all
        partitions, by an admin client: the consumer's own watermark queries wait behind its fetch (about 0.5 s
        each), which alone would spend a short catch-up's bound. Where the first offset is, only a partition not
        read yet needs to know."""
        stable = self._offsets(self._partitions, OffsetSpec.latest(), timeout_s)  # type: ignore[no-untyped-call]
        unread = [p for p, position in self._positions(consumer, stable).items() if position < 0 and stable[p] > 0]
        earliest = self._offsets(unread, OffsetSpec.earliest(), timeout_s) if unread else {}  # type: ignore[no-untyped-call]
        return {p: 0 if end <= earliest.get(p, -1) else end for p, end in stable.items()}

    def _offsets(self, partitions: list[int], spec: OffsetSpec, timeout_s: float) -> dict[int, int]:
        assert self._admin is not None, "assigned first"
        futures = self._admin.list_offsets(
            {TopicPartition(self.topic, p): spec for p in partitions},
            isolation_level=IsolationLevel.READ_COMMITTED,
            request_timeout=timeout_s,
        )
        return {tp.partition: future.result().offset for tp, future in futures.items()}

    def _positions(self, consumer: Consumer, partitions: Iterable[int]) -> dict[int, int]:
        found = consumer.position([TopicPartition(self.topic, p) for p in partitions])
        return {tp.partition: tp.offset for tp in found}

    def _reached(self, consumer: Consumer, targets: dict[int, int]) -> bool:
        positions = self._positions(consumer, targets)
        return all(target == 0 or positions.get(p, -1) >= target for p, target in targets.items())

    def _read(self, consumer: Consumer, timeout_s: float) -> None:
        messages = consumer.consume(_FETCH, timeout=timeout_s)
        with self._lock:
            for message in messages:
                error = message.error()
                if error is None:
                    self._add(message)
                elif error.code() != KafkaError._PARTITION_EOF:
                    log.warning("departures table: %s", error.str())

    def _add(self, message: Message) -> None:
        try:
            contract = FlightOutcome.model_validate_json(message.value() or b"")
        except ValidationError as exc:
            self.counts.invalid += 1
            self.counts.last_problem = f"offset {message.offset()} of partition {message.partition()}: {exc}"
            log.warning("departures table: skipping a record that is not an outcome (%s)", self.counts.last_problem)
            return
        outcome = outcome_of(contract)
        if outcome is None:
            self.counts.without_keys += 1
            return
        self.state.add(outcome)
        self.counts.read += 1
        newest = self.counts.newest_departure
        self.counts.newest_departure = outcome.known_at if newest is None else max(newest, outcome.known_at)


class FeatureSource(Protocol):
    """What a batch transform reads the stream features from: a departures table, or its `RequestView`."""

    @property
    def state(self) -> OutcomesHeld | None: ...
    @property
    def current(self) -> bool: ...
    def features(self, known_at: Sequence[int], keys: Sequence[tuple[str, str, str]]) -> np.ndarray[Any, Any]: ...
    def asked(self, known_at: Sequence[int]) -> None: ...


class RequestView:
    """A departures table as `POST /predict` reads it, on a thread of its own while the loop reads on: the
    features under the table's lock, and no bookkeeping, so that a request known now cannot make the table forget
    the outcomes a replayed month still needs. It lends no `state` to a compiled lane, which reads it unlocked:
    requests take the Python path."""

    state = None

    def __init__(self, table: DeparturesTable) -> None:
        self._table = table

    @property
    def current(self) -> bool:
        """Whether the loop's last catch-up reached the departures' end (what a request's prediction says)."""
        return self._table.current

    def features(self, known_at: Sequence[int], keys: Sequence[tuple[str, str, str]]) -> np.ndarray[Any, Any]:
        return self._table.features_locked(known_at, keys)

    def asked(self, known_at: Sequence[int]) -> None:
        """Nothing: only the stream's events move the table's newest moment."""


def _features(
    state: OutcomesHeld, known_at: Sequence[int], keys: Sequence[tuple[str, str, str]]
) -> np.ndarray[Any, Any]:
    rows = [state.features_at(t, *key) for t, key in zip(known_at, keys, strict=True)]
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(STREAM_FEATURE_NAMES))  # none: (0, width)


def known_at(headers: Headers, timestamp_ms: int) -> int:
    """When an event was known, in Santiago wall-clock seconds: its `KNOWN_AT_HEADER` (a replay's simulated
    clock) when it carries one within the moments a datetime in Santiago holds, else its record timestamp
    (brought within them: an event known in year 1 finds no outcome before it either way)."""
    pairs = headers.items() if isinstance(headers, dict) else headers or []
    for name, value in pairs:
        if name == KNOWN_AT_HEADER and value is not None:
            try:
                sent = int(value)
            except ValueError:
                break
            if _FIRST_MS <= sent <= _LAST_MS:
                timestamp_ms = sent
    return wall_seconds_of_ms(min(max(timestamp_ms, _FIRST_MS), _LAST_MS))


def departure_age_s(newest_event: int | None, newest_departure: int | None) -> float | None:
    """Flight time (seconds) from the newest departure read to the newest event (moments in Santiago wall-clock
    seconds): what grows while flights keep coming and the departures feed publishes nothing. Infinite when no
    departure was ever read; None before the first event. The scorer's and the monitor's alerts both read it,
    against the same threshold."""
    if newest_event is None:
        return None
    return math.inf if newest_departure is None else float(max(newest_event - newest_departure, 0))


def known_at_many(records: Sequence[Record], positions: Sequence[int], milliseconds: Sequence[int]) -> list[int]:
    """`known_at` of the records at `positions` (`milliseconds`: every record's timestamp), by its compiled twin
    where that can decide (a Python call per record is a good part of a scorer's time) and by `known_at` for
    the rest, or for all without the extension."""
    if _COMPILED is None:
        return [known_at(records[p].headers(), milliseconds[p]) for p in positions]
    listed = records if isinstance(records, list) else list(records)
    moments, deferred = _COMPILED.moments(listed, positions, milliseconds)
    for index in deferred:
        position = positions[index]
        moments[index] = known_at(records[position].headers(), milliseconds[position])
    return moments


# Milliseconds of years 1-9999 but the first day (Santiago's clock is behind UTC): what a datetime there holds.
_FIRST_MS, _LAST_MS = MOMENTS_HELD = -62_135_596_800_000 + 86_400_000, 253_402_300_799_999


def wall_seconds_of_ms(timestamp_ms: int) -> int:
    """`santiago_seconds` of an instant in milliseconds, with Santiago's offset remembered per UTC hour (the
    exact computation costs about as much as passing an event through)."""
    seconds = timestamp_ms // 1000
    offset = hour_offset(seconds // 3600)
    if offset is None:
        return santiago_seconds(_instant(seconds))
    return seconds + offset


def hour_offset(hour: int) -> int | None:
    """Santiago's offset from UTC in seconds over a UTC hour (seconds since 1970 // 3600), remembered; None for
    an hour whose two ends differ in offset (none since 1970: Chile changes its clocks on whole UTC hours),
    whose moments are computed exactly each time."""
    if hour in _HOUR_OFFSETS:
        return _HOUR_OFFSETS[hour]
    ends = {santiago_seconds(_instant(s)) - s for s in (hour * 3600, hour * 3600 + 3599)}
    offset = ends.pop() if len(ends) == 1 else None
    if len(_HOUR_OFFSETS) >= _HOURS_REMEMBERED:
        _HOUR_OFFSETS.clear()
    _HOUR_OFFSETS[hour] = offset
    return offset


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


_HOUR_OFFSETS: dict[int, int | None] = {}
_HOURS_REMEMBERED = 100_000
_COMPILED = None if native is None else native.KnownAt(KNOWN_AT_HEADER, *MOMENTS_HELD, hour_offset)
