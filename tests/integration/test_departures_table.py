"""The departures table on the real broker: a catch-up ends when every partition is read to its end as of that
moment, also when some partitions hold nothing (empty, or emptied by retention), and it reads what arrived since."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from confluent_kafka import Producer

from schemas.outcome import FlightOutcome
from training.departures_table import DeparturesTable

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
