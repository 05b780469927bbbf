"""Helpers shared by unit tests: plain records, so the transform is tested without a broker."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from consumer.records import Headers

# A valid flight event in canonical field names (each test varies what it needs from it).
VALID_EVENT: dict[str, str] = {
    "scheduled_departure": "2017-03-10T20:15:00",
    "airline_name": "Sky Airline",
    "airline_code": "SKU",
    "flight_number": "800",
    "flight_type": "N",
    "destination": "SCFA",
}


@dataclass(frozen=True)
class PlainRecord:
    """A `consumer.records.Record` built by hand (what confluent-kafka's `Message` gives the transform)."""

    raw_value: bytes | None
    raw_key: bytes | None = None
    raw_offset: int = 0
    raw_partition: int = 0
    raw_topic: str = "flights.scheduled"
    raw_timestamp_ms: int = 1_700_000_000_000
    raw_headers: list[tuple[str, str | bytes | None]] = field(default_factory=list)

    def value(self) -> bytes | None:
        return self.raw_value

    def key(self) -> bytes | None:
        return self.raw_key

    def headers(self) -> Headers:
        return list(self.raw_headers) or None

    def topic(self) -> str | None:
        return self.raw_topic

    def partition(self) -> int | None:
        return self.raw_partition

    def offset(self) -> int | None:
        return self.raw_offset

    def timestamp(self) -> tuple[int, int]:
        return (1, self.raw_timestamp_ms)


def records_of(events: Iterable[tuple[bytes | None, bytes | None]], partitions: int = 3) -> list[PlainRecord]:
    """(key, value) pairs as records spread round-robin over `partitions`, offsets counting up per partition."""
    records: list[PlainRecord] = []
    for position, (key, value) in enumerate(events):
        partition = position % partitions
        records.append(PlainRecord(value, key, raw_offset=position // partitions, raw_partition=partition))
    return records
