"""The one feature module: raw scheduled-flight records -> model features, for training and serving alike.

Only what is known before departure is used: the *scheduled* departure (`Fecha-I`, Santiago local time),
airline, flight type, destination and scheduled flight number. The operated columns (`Fecha-O`, `Vlo-O`,
`Ori-O`, `Des-O`, `Emp-O`) and the operation-date columns (`DIA`, `MES`, `AÑO`, `DIANOM`) are never read.
The consumer builds its frames with `records_to_frame` and the model's first step is `FlightFeatures`, so
training and serving cannot compute features differently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

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
# Known only after the flight operated: never a feature.
OPERATED_COLUMNS: tuple[str, ...] = (
    "Fecha-O",
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


def period_of_day(hour: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """morning 05:00-11:59, afternoon 12:00-18:59, night 19:00-04:59."""
    return np.where((hour >= 5) & (hour < 12), "morning", np.where((hour >= 12) & (hour < 19), "afternoon", "night"))


def high_season(month: np.ndarray[Any, Any], day: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """1 inside the high-season ranges (edges included), else 0."""
    month_day = month * 100 + day
    inside = np.zeros(month_day.shape, dtype=bool)
    for first, last in _HIGH_SEASON:
        inside |= (month_day >= first) & (month_day <= last)
    return inside.astype(np.int64)


def week_of_year(day_of_year: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Calendar week 1-53 counted from January 1 (not ISO weeks, which put Jan 1 in last year's week)."""
    return (day_of_year - 1) // 7 + 1


def flight_id(airline_code: str, flight_number: str) -> str:
    """The scheduled flight as one category, e.g. `LAN-226`."""
    return f"{airline_code.strip()}-{flight_number.strip()}"


def build_features(raw: pd.DataFrame) -> pd.DataFrame:
    """Derive the model's categorical features (all strings) from raw scheduled-flight columns.

    `raw[SCHEDULED_DEPARTURE]` holds naive Santiago local times (datetime64 or ISO strings).
    """
    missing = [c for c in INPUT_COLUMNS if c not in raw.columns]
    if missing:
        raise KeyError(f"raw flights lack the columns {missing}; features need {list(INPUT_COLUMNS)}")
    departure = pd.to_datetime(raw[SCHEDULED_DEPARTURE])
    month = departure.dt.month.to_numpy()
    hour = departure.dt.hour.to_numpy()
    weekday = departure.dt.day_of_week.to_numpy()
    period = period_of_day(hour)
    airline = raw[AIRLINE].astype(str).str.strip().to_numpy()
    flight_type = raw[FLIGHT_TYPE].astype(str).str.strip().to_numpy()
    destination = raw[DESTINATION].astype(str).str.strip().to_numpy()
    flight = (raw[AIRLINE_CODE].astype(str).str.strip() + "-" + raw[FLIGHT_NUMBER].astype(str).str.strip()).to_numpy()
    month_s = month.astype(str)
    hour_s = hour.astype(str)
    weekday_s = np.asarray(WEEKDAYS, dtype=object)[weekday]
    features = {
        "month": month_s,
        "week": week_of_year(departure.dt.day_of_year.to_numpy()).astype(str),
        "weekday": weekday_s,
        "hour": hour_s,
        "period_of_day": period,
        "high_season": high_season(month, departure.dt.day.to_numpy()).astype(str),
        "airline": airline,
        "flight_type": flight_type,
        "destination": destination,
        "flight": flight,
        "airline_x_period": _cross(airline, period),
        "airline_x_month": _cross(airline, month_s),
        "destination_x_month": _cross(destination, month_s),
        "month_x_weekday": _cross(month_s, weekday_s),
        "flight_type_x_hour": _cross(flight_type, hour_s),
    }
    return pd.DataFrame({name: np.asarray(features[name], dtype=object) for name in FEATURE_NAMES}, index=raw.index)


def _cross(left: np.ndarray[Any, Any], right: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.char.add(np.char.add(left.astype(str), "|"), right.astype(str)).astype(object)


def records_to_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Raw records (dataset column names) -> the frame `build_features` reads; other keys are dropped."""
    rows = list(records)
    return pd.DataFrame({column: [row[column] for row in rows] for column in INPUT_COLUMNS})


class FlightFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """First step of the model pipeline: raw flights in, categorical features out (stateless)."""

    def fit(self, raw: pd.DataFrame, y: object = None) -> FlightFeatures:
        return self

    def transform(self, raw: pd.DataFrame) -> pd.DataFrame:
        return build_features(raw)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray[Any, Any]:
        return np.asarray(FEATURE_NAMES, dtype=object)
