"""The one feature module: raw scheduled-flight records -> model features, for training and serving alike.

Only what is known before departure is used: the *scheduled* departure (`Fecha-I`, Santiago local time),
airline, flight type, destination and scheduled flight number. The operated columns (`Fecha-O`, `Vlo-O`,
`Ori-O`, `Des-O`, `Emp-O`) and the operation-date columns (`DIA`, `MES`, `AÑO`, `DIANOM`) are never read.
The consumer builds its frames with `records_to_frame` and the model's first step is `FlightFeatures`, so
training and serving cannot compute features differently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
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


def flight_features(
    departure: datetime,
    airline: str,
    flight_type: str,
    destination: str,
    airline_code: str,
    flight_number: str,
) -> tuple[str, ...]:
    """The model's features of one scheduled flight, in `FEATURE_NAMES` order: the one definition.

    `departure` is the naive Santiago local time. Training applies this to every row (`build_features`) and the
    scorer to every event, so the two cannot compute features differently.
    """
    month, hour = departure.month, departure.hour
    month_s, hour_s = str(month), str(hour)
    weekday = WEEKDAYS[departure.weekday()]
    period = "morning" if 5 <= hour < 12 else "afternoon" if 12 <= hour < 19 else "night"  # 05-11, 12-18, 19-04
    month_day = month * 100 + departure.day
    season = "1" if any(first <= month_day <= last for first, last in _HIGH_SEASON) else "0"  # edges included
    week = str((departure.timetuple().tm_yday - 1) // 7 + 1)  # counted from January 1, not ISO weeks
    airline, flight_type, destination = str(airline).strip(), str(flight_type).strip(), str(destination).strip()
    flight = f"{str(airline_code).strip()}-{str(flight_number).strip()}"
    return (
        month_s, week, weekday, hour_s, period, season, airline, flight_type, destination, flight,
        f"{airline}|{period}", f"{airline}|{month_s}", f"{destination}|{month_s}", f"{month_s}|{weekday}",
        f"{flight_type}|{hour_s}",
    )  # fmt: skip


def build_features(raw: pd.DataFrame) -> pd.DataFrame:
    """Derive the model's categorical features (all strings) from raw scheduled-flight columns.

    `raw[SCHEDULED_DEPARTURE]` holds naive Santiago local times (datetime64 or ISO strings).
    """
    missing = [c for c in INPUT_COLUMNS if c not in raw.columns]
    if missing:
        raise KeyError(f"raw flights lack the columns {missing}; features need {list(INPUT_COLUMNS)}")
    departures = pd.to_datetime(raw[SCHEDULED_DEPARTURE])
    rows = [
        flight_features(*values)
        for values in zip(
            departures,
            raw[AIRLINE],
            raw[FLIGHT_TYPE],
            raw[DESTINATION],
            raw[AIRLINE_CODE],
            raw[FLIGHT_NUMBER],
            strict=True,
        )
    ]
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in FEATURE_NAMES]
    return pd.DataFrame(
        {name: np.asarray(column, dtype=object) for name, column in zip(FEATURE_NAMES, columns, strict=True)},
        index=raw.index,
    )


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
