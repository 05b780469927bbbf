"""`FlightEvent`: one scheduled departure from Santiago (SCL), the input topic's payload.

Canonical field names are snake_case; the dataset's own column names (`Fecha-I`, `Vlo-I`, `Des-I`, `Emp-I`,
`OPERA`, `TIPOVUELO`, `SIGLADES`, ...) are accepted as aliases, so a row of `dataset_SCL.csv` is a valid event.
Fields of the operated flight (`Fecha-O`, `Vlo-O`, ...) are ignored: they are never stored on the event and
never reach the model. The only use of `Fecha-O` is to check a sent operation month (`MES`) for consistency.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

SANTIAGO = ZoneInfo("America/Santiago")
LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"
FIRST_YEAR, LAST_YEAR = 1970, 2100


_NUMBERS = (bool, int, float)


def _alias(*names: str) -> Any:
    return AliasChoices(*names)


# A record header a replay on a simulated clock sets on each flight event: when the event is known on that clock,
# in milliseconds since the epoch (decimal text). Without it, the record's timestamp is that moment.
KNOWN_AT_HEADER = "flightdelay-known-at-ms"


class FlightEvent(BaseModel):
    """A scheduled flight leaving SCL. Validate with `context={"known_airlines": ...}` to reject unknown ones."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True, populate_by_name=True)

    flight_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=120,
        validation_alias=_alias("flight_id"),
        description="Stable id, also the message key; derived from airline code, flight number and scheduled "
        "departure when absent (e.g. `LAN-226-20170101T2330`).",
    )
    scheduled_departure: datetime = Field(
        validation_alias=_alias("scheduled_departure", "Fecha-I"),
        description="Scheduled departure, ISO-8601; a time without offset is Santiago local time. Alias `Fecha-I`.",
    )
    airline_name: str = Field(
        min_length=1,
        max_length=100,
        validation_alias=_alias("airline_name", "OPERA"),
        description="Operating airline as named in the dataset, e.g. `Grupo LATAM`. Alias `OPERA`.",
    )
    airline_code: str = Field(
        pattern=r"^[A-Z0-9]{2,4}$",
        validation_alias=_alias("airline_code", "Emp-I"),
        description="ICAO airline code of the scheduled flight, e.g. `LAN`. Alias `Emp-I`.",
    )
    flight_number: str = Field(
        min_length=1,
        max_length=10,
        pattern=r"^[0-9A-Za-z.]+$",
        validation_alias=_alias("flight_number", "Vlo-I"),
        description="Scheduled flight number, e.g. `226`. Alias `Vlo-I`.",
    )
    flight_type: Literal["I", "N"] = Field(
        validation_alias=_alias("flight_type", "TIPOVUELO"),
        description="`I` international, `N` national. Alias `TIPOVUELO`.",
    )
    origin: Literal["SCEL"] = Field(
        default="SCEL",
        validation_alias=_alias("origin", "Ori-I"),
        description="ICAO code of the origin; the model covers departures from Santiago only. Alias `Ori-I`.",
    )
    origin_city: str | None = Field(default=None, max_length=100, validation_alias=_alias("origin_city", "SIGLAORI"))
    destination: str = Field(
        pattern=r"^[A-Z0-9]{3,4}$",
        validation_alias=_alias("destination", "Des-I"),
        description="ICAO code of the destination, e.g. `SCCI`. Alias `Des-I`.",
    )
    destination_city: str | None = Field(
        default=None,
        max_length=100,
        validation_alias=_alias("destination_city", "SIGLADES"),
        description="Destination city, e.g. `Punta Arenas`. Alias `SIGLADES`.",
    )
    month: int | None = Field(
        default=None,
        ge=1,
        le=12,
        validation_alias=_alias("month", "MES"),
        description="Optional month of operation (1-12). Must match the operated departure when `Fecha-O` is "
        "sent, else the scheduled departure's month or the next day's. Alias `MES`.",
    )

    @field_validator("flight_number", mode="before")
    @classmethod
    def _number_as_text(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("scheduled_departure", mode="before")
    @classmethod
    def _iso_text_only(cls, value: Any) -> Any:
        """ISO-8601 text only: a bare number would silently be read as a Unix timestamp."""
        if isinstance(value, _NUMBERS):
            raise PydanticCustomError("datetime_type", "scheduled departure must be ISO-8601 text, not a number")
        return value

    @field_validator("scheduled_departure")
    @classmethod
    def _to_santiago(cls, value: datetime) -> datetime:
        """Naive means Santiago local; an offset is converted to Santiago local time. Years 1970-2100 only."""
        local = value.replace(tzinfo=SANTIAGO) if value.tzinfo is None else value.astimezone(SANTIAGO)
        if not FIRST_YEAR <= local.year <= LAST_YEAR:
            raise PydanticCustomError(
                "departure_out_of_range",
                "scheduled departure {value} is outside {first}-{last}",
                {"value": local.isoformat(), "first": FIRST_YEAR, "last": LAST_YEAR},
            )
        return local

    @field_validator("airline_name")
    @classmethod
    def _known_airline(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("known_airlines")
        if known is not None and value not in known:
            raise PydanticCustomError(
                "unknown_airline",
                "unknown airline {airline}: the model knows {count} airlines",
                {"airline": value, "count": len(known)},
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _month_matches(cls, data: Any) -> Any:
        """Check a sent month against the dates before the operated time is dropped."""
        if not isinstance(data, dict):
            return data
        month = data.get("month", data.get("MES"))
        if month in (None, ""):
            return data
        try:
            month_number = int(month)
            operated = data.get("Fecha-O")
            if operated:
                allowed = {datetime.fromisoformat(str(operated)).month}
            else:
                scheduled = datetime.fromisoformat(str(data.get("scheduled_departure", data.get("Fecha-I"))))
                allowed = {scheduled.month, (scheduled + timedelta(days=1)).month}
        except (TypeError, ValueError):
            return data  # malformed month or dates: the field validators report them precisely
        if 1 <= month_number <= 12 and month_number not in allowed:
            raise PydanticCustomError(
                "month_mismatch",
                "month {month} does not match the departure date (expected {allowed})",
                {"month": month_number, "allowed": sorted(allowed)},
            )
        return data

    @property
    def local_departure(self) -> datetime:
        """Scheduled departure as naive Santiago local time, as the model was trained on."""
        return self.scheduled_departure.astimezone(SANTIAGO).replace(tzinfo=None)

    def resolved_id(self, key: bytes | None = None) -> str:
        """The body's id, else the message key, else one derived from the flight."""
        if self.flight_id:
            return self.flight_id
        if key:
            try:
                return key.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return derive_flight_id(self.airline_code, self.flight_number, self.local_departure)

    def model_record(self) -> dict[str, str]:
        """The raw record the shared feature module reads (dataset column names, local time as text)."""
        return {
            "Fecha-I": self.local_departure.strftime(LOCAL_FORMAT),
            "OPERA": self.airline_name,
            "TIPOVUELO": self.flight_type,
            "Des-I": self.destination,
            "Emp-I": self.airline_code,
            "Vlo-I": self.flight_number,
        }


def derive_flight_id(airline_code: str, flight_number: str, local_departure: datetime) -> str:
    return f"{airline_code}-{flight_number}-{local_departure:%Y%m%dT%H%M}"
