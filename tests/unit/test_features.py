"""Every derived feature at its edges: seasons, periods of day, midnight, New Year."""

from __future__ import annotations

import pandas as pd
import pytest

from training.features import (
    FEATURE_NAMES,
    INPUT_COLUMNS,
    OPERATED_COLUMNS,
    build_features,
    records_to_frame,
)


def _features(*departures: str, **overrides: str) -> pd.DataFrame:
    raw = pd.DataFrame(
        {
            "Fecha-I": list(departures),
            "OPERA": overrides.get("OPERA", "Grupo LATAM"),
            "TIPOVUELO": overrides.get("TIPOVUELO", "N"),
            "Des-I": overrides.get("Des-I", "SCCI"),
            "Emp-I": overrides.get("Emp-I", "LAN"),
            "Vlo-I": overrides.get("Vlo-I", "226"),
        }
    )
    return build_features(raw)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2017-12-14", "0"),
        ("2017-12-15", "1"),
        ("2017-12-31", "1"),
        ("2017-01-01", "1"),
        ("2017-03-03", "1"),
        ("2017-03-04", "0"),
        ("2016-02-29", "1"),
        ("2017-07-14", "0"),
        ("2017-07-15", "1"),
        ("2017-07-31", "1"),
        ("2017-08-01", "0"),
        ("2017-09-10", "0"),
        ("2017-09-11", "1"),
        ("2017-09-30", "1"),
        ("2017-10-01", "0"),
    ],
)
def test_high_season_edges_are_inclusive(day: str, expected: str) -> None:
    for clock in ("00:00:00", "23:59:59"):  # whole days count, whatever the hour
        assert _features(f"{day} {clock}")["high_season"].iloc[0] == expected


@pytest.mark.parametrize(
    ("clock", "period"),
    [
        ("00:00:00", "night"),
        ("04:59:00", "night"),
        ("05:00:00", "morning"),
        ("11:59:00", "morning"),
        ("12:00:00", "afternoon"),
        ("18:59:00", "afternoon"),
        ("19:00:00", "night"),
        ("23:59:00", "night"),
    ],
)
def test_period_of_day_edges(clock: str, period: str) -> None:
    features = _features(f"2017-05-10 {clock}")
    assert features["period_of_day"].iloc[0] == period
    assert features["hour"].iloc[0] == str(int(clock[:2]))


def test_new_year_rolls_every_calendar_feature() -> None:
    features = _features("2017-12-31 23:55:00", "2018-01-01 00:05:00")
    assert features["month"].tolist() == ["12", "1"]
    assert features["week"].tolist() == ["53", "1"]
    assert features["weekday"].tolist() == ["Sunday", "Monday"]
    assert features["hour"].tolist() == ["23", "0"]
    assert features["period_of_day"].tolist() == ["night", "night"]
    assert features["high_season"].tolist() == ["1", "1"]
    assert features["month_x_weekday"].tolist() == ["12|Sunday", "1|Monday"]


def test_week_counts_from_january_first() -> None:
    assert _features("2017-01-07 10:00:00", "2017-01-08 10:00:00")["week"].tolist() == ["1", "2"]


def test_categorical_identity_features_and_crosses() -> None:
    features = _features("2017-03-10 20:15:00", OPERA=" Sky Airline ", **{"Emp-I": "SKU", "Vlo-I": " 800 "})
    row = features.iloc[0]
    assert list(features.columns) == list(FEATURE_NAMES)
    assert row["airline"] == "Sky Airline"
    assert row["flight"] == "SKU-800"
    assert row["destination"] == "SCCI"
    assert row["airline_x_period"] == "Sky Airline|night"
    assert row["airline_x_month"] == "Sky Airline|3"
    assert row["destination_x_month"] == "SCCI|3"
    assert row["flight_type_x_hour"] == "N|20"


def test_datetime_and_string_departures_agree() -> None:
    as_text = _features("2017-06-01 07:30:00")
    as_datetime = build_features(
        pd.DataFrame(
            {
                **{c: [v] for c, v in zip(INPUT_COLUMNS, ["", "Grupo LATAM", "N", "SCCI", "LAN", "226"], strict=True)},
                "Fecha-I": [pd.Timestamp("2017-06-01 07:30:00")],
            }
        )
    )
    pd.testing.assert_frame_equal(as_text, as_datetime)


def test_missing_input_column_is_named() -> None:
    with pytest.raises(KeyError, match="Des-I"):
        build_features(pd.DataFrame({"Fecha-I": ["2017-01-01 00:00:00"]}))


def test_records_drop_everything_but_scheduled_inputs() -> None:
    record = {
        "Fecha-I": "2017-01-01 10:00:00",
        "OPERA": "Grupo LATAM",
        "TIPOVUELO": "N",
        "Des-I": "SCCI",
        "Emp-I": "LAN",
        "Vlo-I": "226",
        "Fecha-O": "2017-01-01 12:00:00",
        "MES": "1",
        "DIANOM": "Domingo",
    }
    frame = records_to_frame([record])
    assert list(frame.columns) == list(INPUT_COLUMNS)
    assert not set(frame.columns) & set(OPERATED_COLUMNS)


def _vectorized_reference(raw: pd.DataFrame) -> pd.DataFrame:
    """An independent column-wise (pandas) implementation, a check of `build_features`."""
    import numpy as np

    from training.features import _HIGH_SEASON, WEEKDAYS

    departure = pd.to_datetime(raw["Fecha-I"])
    month, hour = departure.dt.month.to_numpy(), departure.dt.hour.to_numpy()
    day_of_year, day = departure.dt.day_of_year.to_numpy(), departure.dt.day.to_numpy()
    period = np.where((hour >= 5) & (hour < 12), "morning", np.where((hour >= 12) & (hour < 19), "afternoon", "night"))
    month_day = month * 100 + day
    season = np.zeros(month_day.shape, dtype=bool)
    for first, last in _HIGH_SEASON:
        season |= (month_day >= first) & (month_day <= last)
    airline = raw["OPERA"].astype(str).str.strip().to_numpy()
    flight_type = raw["TIPOVUELO"].astype(str).str.strip().to_numpy()
    destination = raw["Des-I"].astype(str).str.strip().to_numpy()
    flight = (raw["Emp-I"].astype(str).str.strip() + "-" + raw["Vlo-I"].astype(str).str.strip()).to_numpy()
    month_s, hour_s = month.astype(str), hour.astype(str)
    weekday = np.asarray(WEEKDAYS, dtype=object)[departure.dt.day_of_week.to_numpy()]

    def cross(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return np.char.add(np.char.add(left.astype(str), "|"), right.astype(str)).astype(object)

    columns = {
        "month": month_s, "week": ((day_of_year - 1) // 7 + 1).astype(str), "weekday": weekday, "hour": hour_s,
        "period_of_day": period, "high_season": season.astype(np.int64).astype(str), "airline": airline,
        "flight_type": flight_type, "destination": destination, "flight": flight,
        "airline_x_period": cross(airline, period), "airline_x_month": cross(airline, month_s),
        "destination_x_month": cross(destination, month_s), "month_x_weekday": cross(month_s, weekday),
        "flight_type_x_hour": cross(flight_type, hour_s),
    }  # fmt: skip
    return pd.DataFrame({name: np.asarray(columns[name], dtype=object) for name in FEATURE_NAMES}, index=raw.index)


def test_per_flight_definition_equals_the_column_wise_one_on_the_whole_dataset() -> None:
    """`flight_features` (used by training and the scorer) against an independent vectorised implementation."""
    from tests.support.dataset import DATASET

    raw = pd.read_csv(DATASET, dtype=str, keep_default_na=False)
    raw = pd.concat([raw, raw.head(3).assign(**{"OPERA": " Sky Airline ", "Vlo-I": "12 "})], ignore_index=True)
    pd.testing.assert_frame_equal(build_features(raw), _vectorized_reference(raw))


def test_one_flight_and_column_wise_forms_agree_on_the_whole_dataset() -> None:
    """`flight_features` (one flight: the per-record contender) and `build_features` (training, serving)."""
    from datetime import datetime

    from tests.support.dataset import DATASET
    from training.features import flight_features

    raw = pd.read_csv(DATASET, dtype=str, keep_default_na=False)
    one_by_one = [
        flight_features(datetime.fromisoformat(row[0]), *row[1:])
        for row in raw[list(INPUT_COLUMNS)].itertuples(index=False)
    ]
    expected = pd.DataFrame(one_by_one, columns=list(FEATURE_NAMES))
    pd.testing.assert_frame_equal(build_features(raw).reset_index(drop=True), expected, check_dtype=False)
