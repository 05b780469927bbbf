"""The fast path and the pydantic contract agree: same verdict, same normalised event, on generated payloads.

The fast path may defer a payload to the contract (then the contract decides, so the verdict is the contract's
by construction); what it accepts must be accepted by the contract and normalised to the same event.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumer.columnar import FastValidator
from consumer.validation import Rejection, validate_value
from schemas import FlightEvent
from tests.support.hostile import HAND_WRITTEN, generate
from tests.support.payloads import DEPARTURES, JUNK, SOME_DEPARTURES, near
from tests.support.records import VALID_EVENT

KNOWN = frozenset({"Sky Airline", "Grupo LATAM"})
MAX_BYTES = 64 * 1024
VALIDATOR = FastValidator(MAX_BYTES, KNOWN)
CANONICAL = VALID_EVENT
ALIASES = {
    "scheduled_departure": "Fecha-I",
    "airline_name": "OPERA",
    "airline_code": "Emp-I",
    "flight_number": "Vlo-I",
    "flight_type": "TIPOVUELO",
    "destination": "Des-I",
    "origin": "Ori-I",
    "origin_city": "SIGLAORI",
    "destination_city": "SIGLADES",
    "month": "MES",
}
# Built once: see tests/support/payloads.py.
MONTH_TYPES = st.sampled_from([int, str])
CITIES = st.sampled_from(["Punta Arenas", "Asunción", "São Paulo", "x" * 100])
RENAMED = st.lists(st.sampled_from(list(ALIASES)), max_size=4, unique=True)
FLIGHT_NUMBERS = st.one_of(st.integers(-3, 99999), st.just(True), st.just("80.0"))
MONTHS = st.one_of(st.integers(0, 13), st.sampled_from(["3", "03", "", " 3", 3.0, True, None]))
OTHER_DEPARTURES = st.one_of(DEPARTURES, JUNK)
FLIGHT_IDS = st.one_of(st.text(max_size=8), st.just("LAN-1-x"), st.just(" x"), JUNK)
ALIASED = st.lists(st.sampled_from(list(ALIASES)), max_size=6, unique=True)


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = dict(CANONICAL)
    body["scheduled_departure"] = draw(SOME_DEPARTURES)
    if draw(st.booleans()):  # a consistent month, as the dataset's rows carry
        body["month"] = draw(MONTH_TYPES)(int(body["scheduled_departure"][5:7]))
    if draw(st.booleans()):
        body["destination_city"] = draw(CITIES)
    if draw(st.integers(0, 2)) == 0:
        return body
    for name in draw(RENAMED):
        body[name] = draw(near(str(body.get(name, "SCEL" if name == "origin" else "Punta Arenas"))))
    if draw(st.booleans()):
        body["flight_number"] = draw(FLIGHT_NUMBERS)
    if draw(st.booleans()):
        body["month"] = draw(MONTHS)
    if draw(st.booleans()):
        body["Fecha-O"] = draw(OTHER_DEPARTURES)
    if draw(st.booleans()):
        body["flight_id"] = draw(FLIGHT_IDS)
    if draw(st.booleans()):  # the dataset's column names, alone or beside the canonical ones
        for name in draw(ALIASED):
            value = body.pop(name) if draw(st.booleans()) and name in body else draw(near("SCEL"))
            body[ALIASES[name]] = value
    return body


def agree(value: bytes) -> bool:
    """Assert the two paths agree on `value`; True when the fast path decided it itself."""
    reference = validate_value(value, MAX_BYTES, KNOWN)
    columns, deferred = VALIDATOR.split([value])
    if deferred:
        assert (len(columns), deferred) == (0, [0])
        return False
    assert isinstance(reference, FlightEvent), f"fast path accepted what the contract rejects: {reference}"
    fast, expected = columns.event(0), reference.model_dump()
    # As text: wall time and offset both (instants in a repeated hour never compare equal across zones).
    fast["scheduled_departure"] = fast["scheduled_departure"].isoformat()
    expected["scheduled_departure"] = expected["scheduled_departure"].isoformat()
    assert fast == expected
    assert columns.departure[0] == expected["scheduled_departure"], "the text predictions carry"
    assert columns.wall[0] == reference.local_departure.strftime("%Y-%m-%dT%H:%M:%S").replace("T", columns.wall[0][10])
    for key in (None, b"key", b"\xff"):
        assert columns.resolved_ids([key]) == [reference.resolved_id(key)]
    return True


SEEN: list[tuple[bool, bool]] = []  # (the contract accepts, the fast path decided)


@settings(max_examples=10_000, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(payloads())
def test_fast_path_agrees_with_the_contract_on_generated_payloads(body: dict[str, Any]) -> None:
    value = orjson.dumps(body)
    SEEN.append((isinstance(validate_value(value, MAX_BYTES, KNOWN), FlightEvent), agree(value)))


def test_the_fast_path_decides_most_generated_valid_payloads() -> None:
    """Not a path that defers everything: of the generated payloads the contract accepts, most are fast."""
    assert len(SEEN) >= 10_000, "run with the generated test above"
    accepted = sum(ok for ok, _ in SEEN)
    decided = sum(fast for _, fast in SEEN)
    assert accepted >= 3_000, "the generator must make valid payloads too"
    assert decided >= 0.6 * accepted, (decided, accepted)  # padded or unusual forms are left to the contract


def test_fast_path_agrees_on_the_hostile_corpus() -> None:
    corpus = [value for value, _kind in HAND_WRITTEN if value is not None] + generate(2_000)
    for value in corpus:
        agree(value)
    assert VALIDATOR.split([None, b""])[1] == [0, 1]


def test_rejections_come_from_the_contract_with_field_errors() -> None:
    value = orjson.dumps({**CANONICAL, "airline_name": "Nowhere Air"})
    columns, deferred = VALIDATOR.split([value])
    assert (len(columns), deferred) == (0, [0])
    rejection = validate_value(value, MAX_BYTES, KNOWN)
    assert isinstance(rejection, Rejection)
    assert rejection.errors[0].error == "unknown_airline"


def test_fast_path_agrees_around_santiagos_clock_changes() -> None:
    """A repeated hour (2017-05-13 23:xx) and a skipped one (2017-08-13 00:xx), naive and with either offset."""
    hours = ["2017-05-13T22", "2017-05-13T23", "2017-05-14T00", "2017-08-12T23", "2017-08-13T00", "2017-08-13T01"]
    for hour in hours:
        for minute in ("00:00", "30:00", "59:59"):
            for suffix in ("", "-03:00", "-04:00", "Z"):
                for separator in ("T", " "):
                    departure = f"{hour[:10]}{separator}{hour[11:]}:{minute}{suffix}"
                    agree(orjson.dumps({**CANONICAL, "scheduled_departure": departure}))
