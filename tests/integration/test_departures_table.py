"""The departures table on the real broker: a catch-up ends when every partition is read to its end as of that
moment, also when some partitions hold nothing (empty, or emptied by retention), and it reads what arrived since."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer

from consumer.settings import ScorerSettings
from schemas.outcome import FlightOutcome
from training.departures_table import DeparturesTable
from training.stream_features import santiago_seconds

START = datetime(2017, 11, 1, 12, tzinfo=UTC)


def _outcome(i: int) -> bytes:
    departure = START + timedelta(minutes=i)
    return FlightOutcome(
        flight_id=f"LAN-{100 + i}-x", scheduled_departure=departure, actual_departure=departure + timedelta(minutes=30),
        delay_minutes=30.0, delayed=True, airline_name="Grupo LATAM", airline_code="LAN", flight_number=str(100 + i),
        destination="SCFA",
    ).model_dump_json().encode()  # fmt: skip


def _send(bootstrap: str, topic: str, partition: int, numbers: range) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in numbers:
        producer.produce(topic, _outcome(i), partition=partition)
    assert producer.flush(10) == 0


def test_a_catch_up_reaches_the_end_of_empty_and_filled_partitions(
    bootstrap: str, make_topic: Callable[..., str]
) -> None:
    topic = make_topic("departures", partitions=3)
    table = DeparturesTable({"bootstrap.servers": bootstrap}, topic)
    try:
        started = time.monotonic()
        assert table.catch_up(10), "an empty topic is read to its end at once"
        empty_took = time.monotonic() - started
        _send(bootstrap, topic, 1, range(50))  # partitions 0 and 2 stay empty
        assert table.catch_up(10) and table.counts.read == 50
        _send(bootstrap, topic, 2, range(50, 60))
        assert table.catch_up(10) and table.counts.read == 60, "what arrived since the last catch-up"
        assert len(table.state) == 60
    finally:
        table.close()
    print(f"\nempty topic current in {empty_took:.2f} s; then 50 and 10 outcomes read on arrival")


def test_the_newest_departures_age_is_counted_on_the_flights_clock(
    bootstrap: str, make_topic: Callable[..., str]
) -> None:
    """How long before the newest event the newest departure read was, in the flights' own time: what grows when
    the feed's producer stops while flights keep coming, though every catch-up still reaches the topic's end."""
    topic = make_topic("departures", partitions=3)
    table = DeparturesTable({"bootstrap.servers": bootstrap}, topic)
    key = ("Grupo LATAM", "SCFA", "LAN-100")
    try:
        assert table.catch_up(10) and table.newest_departure_age_s() is None, "no event scored yet"
        last = santiago_seconds(START + timedelta(minutes=9 + 30))  # the departure of `_outcome(9)`
        table.features([last], [key])
        assert table.newest_departure_age_s() == math.inf, "no departure read"
        _send(bootstrap, topic, 1, range(10))
        assert table.catch_up(10)
        table.features([last + 3 * 3600], [key])
        assert table.newest_departure_age_s() == 3 * 3600
        table.features([last], [key])
        assert table.newest_departure_age_s() == 3 * 3600, "an older event moves nothing"
        _send(bootstrap, topic, 2, range(300, 301))  # departed after the newest event was known
        assert table.catch_up(10) and table.newest_departure_age_s() == 0
    finally:
        table.close()


def test_catch_ups_at_the_default_bound_stay_current_and_stop_before_an_open_transaction(
    bootstrap: str, make_topic: Callable[..., str]
) -> None:
    """In steady state (the table's consumer long-polling its fetches) a catch-up within the scorer's default
    bound reads what arrived on every partition; a transaction still open on the topic ends the read at its start
    (a read_committed reader cannot pass it), and its records are read once it commits."""
    bound = ScorerSettings().stream_catch_up_s
    topic = make_topic("departures", partitions=6)
    table = DeparturesTable({"bootstrap.servers": bootstrap}, topic)
    took: list[float] = []
    try:
        assert table.catch_up(10)
        for round_ in range(5):
            for partition in range(6):
                _send(
                    bootstrap, topic, partition, range(100 * round_ + partition * 10, 100 * round_ + partition * 10 + 2)
                )
            time.sleep(1)  # the consumer is idle in a fetch when the catch-up begins
            started = time.monotonic()
            assert table.catch_up(bound), f"round {round_}: not current within {bound} s"
            took.append(time.monotonic() - started)
            assert table.counts.read == 12 * (round_ + 1)
        transactional = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"open-{topic}"})
        transactional.init_transactions(10)
        transactional.begin_transaction()
        for i in range(5):
            transactional.produce(topic, _outcome(900 + i), partition=3)
        assert transactional.flush(10) == 0
        _send(bootstrap, topic, 4, range(950, 952))
        assert table.catch_up(bound), "an open transaction must not hold the catch-up"
        assert table.counts.read == 60 + 2, "the committed records, none of the open transaction's"
        transactional.commit_transaction(10)
        deadline = time.monotonic() + 10  # the commit's markers reach the partition just after it returns
        while table.counts.read < 60 + 2 + 5 and time.monotonic() < deadline:
            assert table.catch_up(bound)
        assert table.counts.read == 60 + 2 + 5
    finally:
        table.close()
    print(f"\ncatch-ups at the default {bound} s bound took {', '.join(f'{t:.2f}' for t in took)} s")


def test_a_catch_up_asks_the_ends_again_after_a_partition_had_no_leader(
    bootstrap: str, make_topic: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A topic created a moment ago may answer "not leader" for a partition: the catch-up asks again within its
    bound and is current, instead of flagging the batch late. The fault is injected into the first ask."""
    topic = make_topic("departures", partitions=3)
    _send(bootstrap, topic, 1, range(20))
    table = DeparturesTable({"bootstrap.servers": bootstrap}, topic)
    real_offsets = table._offsets
    faults: list[int] = []

    def offsets_failing_once(*args: Any, **kwargs: Any) -> dict[int, int]:
        if not faults:
            faults.append(1)
            raise KafkaException(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION))
        return real_offsets(*args, **kwargs)

    monkeypatch.setattr(table, "_offsets", offsets_failing_once)
    try:
        assert table.catch_up(ScorerSettings().stream_catch_up_s)
        assert faults == [1], "the fault was injected"
        assert table.counts.read == 20 and table.counts.catch_ups_missed == 0
    finally:
        table.close()
