"""The one feature module: raw scheduled-flight records -> model features, for training and serving alike.

Only what is known before departure is used: the *scheduled* departure (`Fecha-I`, Santiago local time),
airline, flight type, destination and scheduled flight number. The operated columns (`Fecha-O`, `Vlo-O`,
`Ori-O`, `Des-O`, `Emp-O`) and the operation-date columns (`DIA`, `MES`, `AÑO`, `DIANOM`) are never read.
Each derived value has one definition here (`period_of_day`, `high_season`, ...). The model's first step
(`training.pipeline_features.FlightFeatures`) computes the features column-wise (`build_features`) from tables
of those definitions; the scorer indexes the same tables (`CALENDAR_CATEGORIES`, `CROSSES`), so training and
serving cannot compute features differently. pandas is imported only by the functions that build frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# Raw columns the features are derived from, by their dataset names.
SCHEDULED_DEPARTURE = "Fecha-I"
AIRLINE = "OPERA"
FLIGHT_TYPE = "TIPOVUELO"
DESTINATION = "Des-I"
AIRLINE_CODE = "Emp-I"
FLIGHT_NUMBER = "Vlo-I"
INPUT_COLUMNS: tuple[str, ...] = (
    SCHEDULED_DEPARTURE,
    AIRLINE,
    FLIGHT_TYPE,
    DESTINATION,
    AIRLINE_CODE,
    FLIGHT_NUMBER,
)
# Known only after the flight operated: never a feature. The actual departure is the label's and the outcome's.
OPERATED_DEPARTURE = "Fecha-O"
OPERATED_COLUMNS: tuple[str, ...] = (
    OPERATED_DEPARTURE,
    "Vlo-O",
    "Ori-O",
    "Des-O",
    "Emp-O",
    "DIA",
    "MES",
    "AÑO",
    "DIANOM",
)

# Categorical features the model sees, in order: the plain ones, then their crosses.
BASE_FEATURES: tuple[str, ...] = (
    "month", "week", "weekday", "hour", "period_of_day", "high_season",
    "airline", "flight_type", "destination", "flight",
)  # fmt: skip
CROSSED_FEATURES: tuple[str, ...] = (
    "airline_x_period", "airline_x_month", "destination_x_month", "month_x_weekday", "flight_type_x_hour",
)  # fmt: skip
FEATURE_NAMES: tuple[str, ...] = BASE_FEATURES + CROSSED_FEATURES
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# High season, inclusive, as (month, day) ranges: Dec 15 - Mar 3, Jul 15 - Jul 31, Sep 11 - Sep 30.
_HIGH_SEASON = ((1215, 1231), (101, 303), (715, 731), (911, 930))
PERIODS = ("morning", "afternoon", "night")
# Each cross is the pair of base features it combines.
CROSSES: dict[str, tuple[str, str]] = {
    "airline_x_period": ("airline", "period_of_day"),
    "airline_x_month": ("airline", "month"),
    "destination_x_month": ("destination", "month"),
    "month_x_weekday": ("month", "weekday"),
    "flight_type_x_hour": ("flight_type", "hour"),
}
assert tuple(CROSSES) == CROSSED_FEATURES


# --- the definitions: one function per derived value ------------------------------------------------------------
def period_of_day(hour: int) -> str:
    """Morning 05:00-11:59, afternoon 12:00-18:59, night 19:00-04:59."""
    return PERIODS[0] if 5 <= hour < 12 else PERIODS[1] if 12 <= hour < 19 else PERIODS[2]


def high_season(month: int, day: int) -> str:
    """`1` inside a high-season range (edges included), else `0`."""
    month_day = month * 100 + day
    return "1" if any(first <= month_day <= last for first, last in _HIGH_SEASON) else "0"


def week_of_year(day_of_year: int) -> str:
    """Weeks counted from January 1 (day 1), not ISO weeks."""
    return str((day_of_year - 1) // 7 + 1)


def flight_code(airline_code: str, flight_number: str) -> str:
    return f"{str(airline_code).strip()}-{str(flight_number).strip()}"


def cross(left: str, right: str) -> str:
    return f"{left}|{right}"


def flight_features(
    departure: datetime,
    airline: str,
    flight_type: str,
    destination: str,
    airline_code: str,
    flight_number: str,
) -> tuple[str, ...]:
    """The model's features of one scheduled flight, in `FEATURE_NAMES` order (`departure`: naive local time).

    Built from the definitions above, as the column-wise form below is: a test holds the two equal on every
    dataset row.
    """
    month, hour = departure.month, departure.hour
    month_s, hour_s = str(month), str(hour)
    weekday = WEEKDAYS[departure.weekday()]
    period = period_of_day(hour)
    airline, flight_type, destination = str(airline).strip(), str(flight_type).strip(), str(destination).strip()
    return (
        month_s, week_of_year(departure.timetuple().tm_yday), weekday, hour_s, period,
        high_season(month, departure.day), airline, flight_type, destination, flight_code(airline_code, flight_number),
        cross(airline, period), cross(airline, month_s), cross(destination, month_s), cross(month_s, weekday),
        cross(flight_type, hour_s),
    )  # fmt: skip


# --- column-wise: calendar facts as integers, each feature a table of its categories by an integer index ---------
@dataclass(frozen=True)
class Calendar:
    """Integer calendar facts of naive local departures, one array each (the same length)."""

    month: np.ndarray[Any, Any]  # 1-12
    day: np.ndarray[Any, Any]  # 1-31
    day_of_year: np.ndarray[Any, Any]  # 1-366
    weekday: np.ndarray[Any, Any]  # 0 = Monday
    hour: np.ndarray[Any, Any]  # 0-23

    @property
    def month_day(self) -> np.ndarray[Any, Any]:
        """`month * 100 + day`: 1215 for December 15."""
        month_day: np.ndarray[Any, Any] = self.month * 100 + self.day
        return month_day

    def index(self, feature: str) -> np.ndarray[Any, Any]:
        """The integer that `CALENDAR_CATEGORIES[feature]` is indexed by."""
        column: np.ndarray[Any, Any] = getattr(self, CALENDAR_FACTS[feature])
        return column


def calendar(local: np.ndarray[Any, Any]) -> Calendar:
    """Calendar facts of naive local times (`datetime64` of any unit)."""
    seconds = local.astype("datetime64[s]")
    days = seconds.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    years = days.astype("datetime64[Y]")
    return Calendar(
        month=(months - years.astype("datetime64[M]")).astype(np.int64) + 1,
        day=(days - months.astype("datetime64[D]")).astype(np.int64) + 1,
        day_of_year=(days - years.astype("datetime64[D]")).astype(np.int64) + 1,
        weekday=(days.astype(np.int64) + 3) % 7,  # 1970-01-01 was a Thursday
        hour=(seconds - days).astype("timedelta64[h]").astype(np.int64),
    )


# The calendar fact (a `Calendar` field) each calendar feature's categories are indexed by.
CALENDAR_FACTS = {
    "month": "month",
    "week": "day_of_year",
    "weekday": "weekday",
    "hour": "hour",
    "period_of_day": "hour",
    "high_season": "month_day",
}
# Categories of each calendar feature by its integer index; "" where an index cannot occur.
CALENDAR_CATEGORIES: dict[str, tuple[str, ...]] = {
    "month": ("", *(str(month) for month in range(1, 13))),
    "week": ("", *(week_of_year(day) for day in range(1, 367))),
    "weekday": WEEKDAYS,
    "hour": tuple(str(hour) for hour in range(24)),
    "period_of_day": tuple(period_of_day(hour) for hour in range(24)),
    "high_season": tuple(
        high_season(index // 100, index % 100) if 1 <= index // 100 <= 12 and 1 <= index % 100 <= 31 else ""
        for index in range(1232)
    ),
}
CALENDAR_FEATURES: tuple[str, ...] = tuple(CALENDAR_CATEGORIES)


def build_features(raw: pd.DataFrame) -> pd.DataFrame:
    """Derive the model's categorical features (all strings) from raw scheduled-flight columns, column-wise.

    `raw[SCHEDULED_DEPARTURE]` holds naive Santiago local times (datetime64 or ISO strings).
    """
    import pandas as pd  # only here: the scorer imports this module and must not load pandas

    missing = [c for c in INPUT_COLUMNS if c not in raw.columns]
    if missing:
        raise KeyError(f"raw flights lack the columns {missing}; features need {list(INPUT_COLUMNS)}")
    days = calendar(pd.to_datetime(raw[SCHEDULED_DEPARTURE]).to_numpy(dtype="datetime64[s]"))
    columns: dict[str, np.ndarray[Any, Any]] = {
        name: np.asarray(CALENDAR_CATEGORIES[name], dtype=object)[days.index(name)] for name in CALENDAR_FEATURES
    }
    for name, column in (("airline", AIRLINE), ("flight_type", FLIGHT_TYPE), ("destination", DESTINATION)):
        columns[name] = np.asarray([str(value).strip() for value in raw[column]], dtype=object)
    columns["flight"] = np.asarray(
        [flight_code(c, n) for c, n in zip(raw[AIRLINE_CODE], raw[FLIGHT_NUMBER], strict=True)], dtype=object
    )
    for name, (left, right) in CROSSES.items():
        columns[name] = np.asarray(
            [cross(a, b) for a, b in zip(columns[left], columns[right], strict=True)], dtype=object
        )
    return pd.DataFrame({name: columns[name] for name in FEATURE_NAMES}, index=raw.index)


def records_to_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Raw records (dataset column names) -> the frame `build_features` reads; other keys are dropped."""
    import pandas as pd

    rows = list(records)
    return pd.DataFrame({column: [row[column] for row in rows] for column in INPUT_COLUMNS})
