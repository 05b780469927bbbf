"""The fast path of validation: a batch's values decoded once and checked column by column.

It accepts only what it can decide for certain, normalised exactly as `FlightEvent` normalises it; every other
value is deferred to the pydantic contract (`consumer.validation`), which stays the reference and gives the
dead letters their precise field errors. So the fast path may defer too much, never accept what the contract
rejects: a property test holds the two to the same verdicts and the same normalised events.

Repeated values (airlines, codes, destinations, cities) are checked once and remembered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Final

import numpy as np
import orjson

from schemas.flight_event import FIRST_YEAR, LAST_YEAR, SANTIAGO, FlightEvent, derive_flight_id

_MISSING: Final = object()
_BAD: Final = object()
_MEMO_LIMIT = 50_000
_AIRLINE_CODE = re.compile(r"[A-Z0-9]{2,4}")
_DESTINATION = re.compile(r"[A-Z0-9]{3,4}")
_FLIGHT_NUMBER = re.compile(r"[0-9A-Za-z.]{1,10}")
# The departure forms decided here; anything else (fractions, week dates, other separators) goes to pydantic.
_DEPARTURE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|[+-][0-9]{2}:[0-9]{2})?")
_MONTHS: dict[object, int] = {**{m: m for m in range(1, 13)}, **{str(m): m for m in range(1, 13)}}
_ONE_DAY = timedelta(days=1)


@dataclass
class Columns:
    """The accepted events of a batch, column-wise; `rows` are their positions in the batch."""

    rows: list[int] = field(default_factory=list)
    flight_id: list[str | None] = field(default_factory=list)
    departure: list[str] = field(default_factory=list)  # ISO text in Santiago time, as pydantic writes the event's
    wall: list[str] = field(default_factory=list)  # the same as naive local ISO text, for the calendar
    airline_name: list[str] = field(default_factory=list)
    airline_code: list[str] = field(default_factory=list)
    flight_number: list[str] = field(default_factory=list)
    flight_type: list[str] = field(default_factory=list)
    destination: list[str] = field(default_factory=list)
    origin_city: list[str | None] = field(default_factory=list)
    destination_city: list[str | None] = field(default_factory=list)
    month: list[int | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, position: int, event: FlightEvent) -> None:
        """Add an event the contract accepted; `in_order` puts the rows back in batch order."""
        self.rows.append(position)
        self.flight_id.append(event.flight_id)
        self.departure.append(event.scheduled_departure.isoformat())
        self.wall.append(event.local_departure.strftime("%Y-%m-%dT%H:%M:%S"))
        self.airline_name.append(event.airline_name)
        self.airline_code.append(event.airline_code)
        self.flight_number.append(event.flight_number)
        self.flight_type.append(event.flight_type)
        self.destination.append(event.destination)
        self.origin_city.append(event.origin_city)
        self.destination_city.append(event.destination_city)
        self.month.append(event.month)

    def in_order(self) -> Columns:
        """The same rows sorted by their position in the batch (outputs keep the input's order)."""
        order = sorted(range(len(self.rows)), key=self.rows.__getitem__)
        return self if order == list(range(len(order))) else self.select(order)

    def select(self, indices: Sequence[int]) -> Columns:
        """The rows at `indices` (of this object's rows, not of the batch)."""
        return Columns(**{name: [column[i] for i in indices] for name, column in vars(self).items()})

    @classmethod
    def of_events(cls, events: Sequence[FlightEvent]) -> Columns:
        """Columns of validated events (tests, ad-hoc scoring)."""
        columns = cls()
        for position, event in enumerate(events):
            columns.add(position, event)
        return columns

    def local_times(self) -> np.ndarray[Any, Any]:
        """Naive Santiago local departures as `datetime64[s]`, what the features read."""
        return np.array(self.wall, dtype="datetime64[s]")

    def resolved_ids(self, keys: Sequence[bytes | None]) -> list[str]:
        """`FlightEvent.resolved_id` for every row: the body's id, else the key, else one derived from the flight."""
        ids: list[str] = []
        for position, body_id in enumerate(self.flight_id):
            if body_id:
                ids.append(body_id)
                continue
            key = keys[position]
            if key:
                try:
                    ids.append(key.decode("utf-8"))
                    continue
                except UnicodeDecodeError:
                    pass
            local = datetime.fromisoformat(self.wall[position])
            ids.append(derive_flight_id(self.airline_code[position], self.flight_number[position], local))
        return ids

    def event(self, position: int) -> dict[str, Any]:
        """One row as `FlightEvent.model_dump()` gives it (what the property test compares)."""
        return {
            "flight_id": self.flight_id[position],
            "scheduled_departure": datetime.fromisoformat(self.departure[position]),
            "airline_name": self.airline_name[position],
            "airline_code": self.airline_code[position],
            "flight_number": self.flight_number[position],
            "flight_type": self.flight_type[position],
            "origin": "SCEL",
            "origin_city": self.origin_city[position],
            "destination": self.destination[position],
            "destination_city": self.destination_city[position],
            "month": self.month[position],
        }


class _Memo:
    """Strings already found valid (normalised) or invalid; bounded, so hostile input cannot grow it for good."""

    def __init__(self, check: Callable[[str], object]) -> None:
        self._check = check
        self._seen: dict[str, object] = {}

    def map(self, values: list[object], optional: bool = False) -> list[object]:
        """The checked value of each item, `_BAD` for an invalid one (and for anything but a string).

        With `optional`, None stays None (an optional field that was not sent, or sent as null).
        """
        seen, remember = self._seen, self._remember
        if optional:
            return [v if v is None else seen[v] if type(v) is str and v in seen else remember(v) for v in values]
        return [seen[v] if type(v) is str and v in seen else remember(v) for v in values]

    def _remember(self, value: object) -> object:
        if type(value) is not str:
            return _BAD
        if len(self._seen) >= _MEMO_LIMIT:
            self._seen.clear()
        result = self._seen[value] = self._check(value)
        return result


def _pattern(regex: re.Pattern[str]) -> _Memo:
    # Only ASCII letters, digits and dots match, so a match has no whitespace for the contract to strip.
    return _Memo(lambda text: text if regex.fullmatch(text) else _BAD)


def _plain_edges(text: str) -> bool:
    """True when no definition of whitespace (Python's or pydantic's) would strip anything from `text`."""
    return bool(text) and _edge(text[0]) and _edge(text[-1])


def _edge(char: str) -> bool:
    return char.isalnum() or "!" <= char <= "~"


def _pick(payloads: list[dict[str, Any]], name: str, alias: str, default: object = _MISSING) -> list[object]:
    """A field's values by its name, else its alias (the contract's `AliasChoices` order)."""
    missing = _MISSING
    return [v if (v := p.get(name, missing)) is not missing else p.get(alias, default) for p in payloads]


class FastValidator:
    """Splits a batch into events it accepts (as `Columns`) and positions it defers to the contract."""

    def __init__(self, max_bytes: int, known_airlines: Collection[str] | None) -> None:
        self.max_bytes = max_bytes
        self._airline_code = _pattern(_AIRLINE_CODE)
        self._destination = _pattern(_DESTINATION)
        self._flight_number = _pattern(_FLIGHT_NUMBER)
        self._city = _Memo(lambda text: text if _plain_edges(text) and len(text) <= 100 else _BAD)
        known = None if known_airlines is None else frozenset(known_airlines)
        self._airline = _Memo(
            lambda text: (
                text if (text in known if known is not None else _plain_edges(text) and len(text) <= 100) else _BAD
            )
        )

    def split(self, values: Sequence[bytes | None]) -> tuple[Columns, list[int]]:
        """(accepted events, positions to validate with the contract)."""
        positions, payloads, deferred = self._decode(values)
        names = self._airline.map(_pick(payloads, "airline_name", "OPERA"))
        codes = self._airline_code.map(_pick(payloads, "airline_code", "Emp-I"))
        numbers = self._flight_number.map(
            [str(v) if type(v) is int else v for v in _pick(payloads, "flight_number", "Vlo-I")]
        )
        kinds = _pick(payloads, "flight_type", "TIPOVUELO")
        destinations = self._destination.map(_pick(payloads, "destination", "Des-I"))
        origins = _pick(payloads, "origin", "Ori-I", "SCEL")
        ids = [p.get("flight_id") for p in payloads]
        origin_cities = self._city.map(_pick(payloads, "origin_city", "SIGLAORI", None), optional=True)
        destination_cities = self._city.map(_pick(payloads, "destination_city", "SIGLADES", None), optional=True)
        departures = list(map(_departure, _pick(payloads, "scheduled_departure", "Fecha-I")))
        months = _pick(payloads, "month", "MES", None)
        bad = _BAD
        accepted: list[int] = []
        for i, departure in enumerate(departures):
            kind, flight_id = kinds[i], ids[i]
            if (
                departure is None
                or names[i] is bad
                or codes[i] is bad
                or numbers[i] is bad
                or destinations[i] is bad
                or origin_cities[i] is bad
                or destination_cities[i] is bad
                or (kind != "I" and kind != "N")  # a comparison, not `in` a set: `kind` may be unhashable
                or origins[i] != "SCEL"
                or (flight_id is not None and not _valid_id(flight_id))
                or (months[i] is not None and (month := _month(payloads[i], months[i])) is bad)
            ):
                deferred.append(positions[i])
                continue
            if months[i] is not None:
                months[i] = month
            accepted.append(i)
        deferred.sort()
        local = [departures[i] for i in accepted]
        columns = Columns(
            rows=[positions[i] for i in accepted],
            flight_id=[ids[i] for i in accepted],
            departure=[d[0] for d in local],  # type: ignore[index]
            wall=[d[1] for d in local],  # type: ignore[index]
            airline_name=[names[i] for i in accepted],  # type: ignore[misc]
            airline_code=[codes[i] for i in accepted],  # type: ignore[misc]
            flight_number=[numbers[i] for i in accepted],  # type: ignore[misc]
            flight_type=[kinds[i] for i in accepted],  # type: ignore[misc]
            destination=[destinations[i] for i in accepted],  # type: ignore[misc]
            origin_city=[origin_cities[i] for i in accepted],  # type: ignore[misc]
            destination_city=[destination_cities[i] for i in accepted],  # type: ignore[misc]
            month=[months[i] for i in accepted],  # type: ignore[misc]
        )
        return columns, deferred

    def _decode(self, values: Sequence[bytes | None]) -> tuple[list[int], list[dict[str, Any]], list[int]]:
        """Each value decoded on its own (no value can spill into the next); only JSON objects go on."""
        positions: list[int] = []
        payloads: list[dict[str, Any]] = []
        deferred: list[int] = []
        loads, limit = orjson.loads, self.max_bytes
        for position, value in enumerate(values):
            if value and len(value) <= limit:
                try:
                    payload = loads(value)  # orjson refuses invalid UTF-8, as the contract's decoding does
                except orjson.JSONDecodeError:
                    deferred.append(position)
                    continue
                if type(payload) is dict:
                    positions.append(position)
                    payloads.append(payload)
                    continue
            deferred.append(position)
        return positions, payloads, deferred


def _valid_id(value: object) -> bool:
    return (
        type(value) is str
        and 0 < len(value) <= 120
        and value.isascii()
        and value.isprintable()
        and (value[0] != " " and value[-1] != " ")
    )


def _departure(value: object) -> tuple[str, str] | None:
    """(ISO text in Santiago time, naive local ISO text) as the contract normalises it, or None to defer.

    Most departures are naive Santiago times or carry Santiago's own offset: then the text is the input's with
    the offset of its hour, looked up once per hour. Other offsets are converted.
    """
    if type(value) is not str or not _DEPARTURE.fullmatch(value):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    size = len(value)
    if size == 19 or size == 25:
        offset = _HOUR_OFFSETS.get(value[:13], _MISSING)
        if offset is _MISSING:
            offset = hour_offset(value[:13])
        if offset is not None and (size == 19 or value[19:] == offset):
            if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
                return None
            iso = value if value[10] == "T" else f"{value[:10]}T{value[11:]}"
            return (iso + offset if size == 19 else iso), value[:19]  # type: ignore[operator]
    local = parsed.replace(tzinfo=SANTIAGO) if parsed.tzinfo is None else parsed.astimezone(SANTIAGO)
    if not FIRST_YEAR <= local.year <= LAST_YEAR:
        return None
    return local.isoformat(), local.strftime("%Y-%m-%dT%H:%M:%S")


_HOUR_OFFSETS: dict[str, object] = {}  # `YYYY-MM-DD?HH` of a naive local time -> `hour_offset`


def hour_offset(hour: str) -> str | None:
    """Santiago's UTC offset (`-03:00`) for every naive local time in `hour` (`YYYY-MM-DD HH`, any separator),
    or None when the offset changes within it or the hour is skipped or repeated (a daylight-saving change)."""
    try:
        start = datetime.fromisoformat(f"{hour[:10]}T{hour[11:13]}:00:00")
    except ValueError:
        return None
    offsets = {
        moment.replace(tzinfo=SANTIAGO, fold=fold).utcoffset()
        for moment in (start, start + timedelta(minutes=59, seconds=59))
        for fold in (0, 1)
    }
    text = None
    if len(offsets) == 1:
        offset = offsets.pop()
        assert offset is not None
        text = datetime(2000, 1, 1, tzinfo=timezone(offset)).isoformat()[19:]
    if len(_HOUR_OFFSETS) >= _MEMO_LIMIT:
        _HOUR_OFFSETS.clear()
    _HOUR_OFFSETS[hour] = text
    return text


def _month(payload: dict[str, Any], raw: object) -> object:
    """A sent month, checked against the dates as the contract checks it; `_BAD` to defer."""
    month = _MONTHS.get(raw, _BAD) if type(raw) in (int, str) else _BAD
    if month is _BAD:
        return _BAD
    operated = payload.get("Fecha-O")
    if operated:
        try:
            allowed = {datetime.fromisoformat(str(operated)).month}
        except ValueError:
            return month  # the contract skips the check when the operated time does not parse
    else:
        scheduled = datetime.fromisoformat(str(payload.get("scheduled_departure", payload.get("Fecha-I"))))
        allowed = {scheduled.month, (scheduled + _ONE_DAY).month}
    return month if month in allowed else _BAD
