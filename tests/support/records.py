"""Helpers shared by unit tests: plain records, so the transform is tested without a broker."""

from __future__ import annotations

from collections.abc import Iterable

from stream_runtime.records import PlainRecord

# A valid flight event in canonical field names (each test varies what it needs from it).
VALID_EVENT: dict[str, str] = {
    "scheduled_departure": "2017-03-10T20:15:00",
    "airline_name": "Sky Airline",
    "airline_code": "SKU",
    "flight_number": "800",
    "flight_type": "N",
    "destination": "SCFA",
}


def records_of(events: Iterable[tuple[bytes | None, bytes | None]], partitions: int = 3) -> list[PlainRecord]:
    """(key, value) pairs as records spread round-robin over `partitions`, offsets counting up per partition."""
    records: list[PlainRecord] = []
    for position, (key, value) in enumerate(events):
        partition = position % partitions
        records.append(PlainRecord(value, key, raw_offset=position // partitions, raw_partition=partition))
    return records
