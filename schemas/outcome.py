"""Payload of the departures topic: what became of a flight, hours after it was predicted.

`delayed` is the label the model was trained on: the actual minus the scheduled departure, both as Santiago wall
clock times like the dataset's, above `DELAY_MINUTES`. Defined here once; training takes the constant from here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.flight_event import SANTIAGO

DELAY_MINUTES = 15


class FlightKeys(Protocol):
    """Whose flight it was: what a `FlightEvent` says and an outcome repeats."""

    @property
    def airline_name(self) -> str: ...
    @property
    def airline_code(self) -> str: ...
    @property
    def flight_number(self) -> str: ...
    @property
    def destination(self) -> str: ...


def is_delayed(delay_minutes: float) -> bool:
    return delay_minutes > DELAY_MINUTES


def wall_minutes(scheduled: datetime, actual: datetime) -> float:
    """Minutes between two instants as Santiago's clocks showed them (a clock change in between does not count)."""
    local = [t.astimezone(SANTIAGO).replace(tzinfo=None) for t in (scheduled, actual)]
    return (local[1] - local[0]).total_seconds() / 60


class FlightOutcome(BaseModel):
    """A flight's actual departure, keyed like its prediction (by flight id)."""

    model_config = ConfigDict(frozen=True)

    flight_id: str = Field(min_length=1)
    scheduled_departure: AwareDatetime
    actual_departure: AwareDatetime
    delay_minutes: float = Field(
        description="actual minus scheduled departure in Santiago wall-clock minutes (as the training label); "
        "negative when early"
    )
    delayed: bool = Field(description=f"delay_minutes > {DELAY_MINUTES}: the label the model predicts")
    # Whose flight it was, as its event said: what the stream features count it under. Absent from outcomes of
    # producers that predate them; such an outcome still joins its prediction but feeds no stream feature.
    airline_name: str | None = Field(
        default=None, min_length=1, max_length=100, description="operating airline, as the event's `airline_name`"
    )
    airline_code: str | None = Field(
        default=None, pattern=r"^[A-Z0-9]{2,4}$", description="the event's `airline_code`, e.g. `LAN`"
    )
    flight_number: str | None = Field(
        default=None, min_length=1, max_length=10, pattern=r"^[0-9A-Za-z.]+$", description="the event's `flight_number`"
    )
    destination: str | None = Field(
        default=None, pattern=r"^[A-Z0-9]{3,4}$", description="the event's `destination`, e.g. `SCCI`"
    )

    @property
    def has_flight_keys(self) -> bool:
        """True when it says whose flight it was (airline, flight code, destination)."""
        return None not in (self.airline_name, self.airline_code, self.flight_number, self.destination)

    @model_validator(mode="after")
    def _consistent(self) -> FlightOutcome:
        minutes = wall_minutes(self.scheduled_departure, self.actual_departure)
        if abs(minutes - self.delay_minutes) > 1e-6:
            raise ValueError(f"delay_minutes is {self.delay_minutes}, the departures are {minutes:g} minutes apart")
        if self.delayed != is_delayed(self.delay_minutes):
            raise ValueError(f"delayed must be delay_minutes > {DELAY_MINUTES}")
        return self

    @classmethod
    def of(cls, flight_id: str, scheduled: datetime, actual: datetime, keys: FlightKeys | None = None) -> FlightOutcome:
        """From the two departures; naive times are Santiago's, as in the dataset. `keys`: whose flight it was
        (a `FlightEvent` is one)."""
        scheduled, actual = (t if t.tzinfo else t.replace(tzinfo=SANTIAGO) for t in (scheduled, actual))
        minutes = wall_minutes(scheduled, actual)
        return cls(
            flight_id=flight_id,
            scheduled_departure=scheduled,
            actual_departure=actual,
            delay_minutes=minutes,
            delayed=is_delayed(minutes),
            airline_name=keys.airline_name if keys else None,
            airline_code=keys.airline_code if keys else None,
            flight_number=keys.flight_number if keys else None,
            destination=keys.destination if keys else None,
        )
