"""Load `dataset_SCL.csv` with checks that name the file, the rows and the column of every problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from schemas.outcome import DELAY_MINUTES
from training.features import (
    AIRLINE,
    AIRLINE_CODE,
    DESTINATION,
    FLIGHT_NUMBER,
    FLIGHT_TYPE,
    INPUT_COLUMNS,
    OPERATED_COLUMNS,
    OPERATED_DEPARTURE,
    SCHEDULED_DEPARTURE,
)

LABEL = "delay_15"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
# All 18 columns of the published file: what the features read, what they must not, and the rest.
REQUIRED_COLUMNS: tuple[str, ...] = (*INPUT_COLUMNS, *OPERATED_COLUMNS, "Ori-I", "SIGLAORI", "SIGLADES")
INTEGER_COLUMNS = ("DIA", "MES", "AÑO")
NON_EMPTY_COLUMNS = (AIRLINE, FLIGHT_TYPE, DESTINATION, AIRLINE_CODE, FLIGHT_NUMBER)
FLIGHT_TYPES = ("I", "N")
_MAX_ROWS_NAMED = 10


class DatasetFormatError(ValueError):
    """The CSV does not have the expected shape; the message names file, column and rows."""


def _rows(mask: np.ndarray[tuple[int], np.dtype[np.bool_]]) -> str:
    """File line numbers of the flagged data rows (line 1 is the header)."""
    lines = (np.flatnonzero(mask) + 2).tolist()
    shown = ", ".join(map(str, lines[:_MAX_ROWS_NAMED]))
    more = f" and {len(lines) - _MAX_ROWS_NAMED} more" if len(lines) > _MAX_ROWS_NAMED else ""
    return f"line{'s' if len(lines) > 1 else ''} {shown}{more}"


def load_flights(path: Path) -> pd.DataFrame:
    """Read and check the dataset; parse dates; add the label `delay_15`. Raises DatasetFormatError."""
    if not path.is_file():
        raise DatasetFormatError(f"{path}: no such file (run `python3 data/fetch_dataset.py`)")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DatasetFormatError(f"{path}: not a readable UTF-8 CSV: {exc}") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise DatasetFormatError(f"{path}: missing column(s) {missing}; found {list(raw.columns)}")
    problems: list[str] = []
    frame = raw.copy()
    for column in (SCHEDULED_DEPARTURE, OPERATED_DEPARTURE):
        parsed = pd.to_datetime(raw[column], format=DATE_FORMAT, errors="coerce")
        bad = parsed.isna().to_numpy()
        if bad.any():
            example = raw[column].to_numpy()[bad][0]
            problems.append(
                f"column '{column}': unparseable date ({DATE_FORMAT} expected, e.g. {example!r}) at {_rows(bad)}"
            )
        frame[column] = parsed
    for column in INTEGER_COLUMNS:
        bad = ~raw[column].str.fullmatch(r"-?\d+").to_numpy(dtype=bool)
        if bad.any():
            example = raw[column].to_numpy()[bad][0]
            problems.append(f"column '{column}': not an integer (e.g. {example!r}) at {_rows(bad)}")
    for column in NON_EMPTY_COLUMNS:
        bad = (raw[column].str.strip() == "").to_numpy()
        if bad.any():
            problems.append(f"column '{column}': empty value at {_rows(bad)}")
    bad = ~raw[FLIGHT_TYPE].isin(FLIGHT_TYPES).to_numpy() & (raw[FLIGHT_TYPE].str.strip() != "").to_numpy()
    if bad.any():
        example = raw[FLIGHT_TYPE].to_numpy()[bad][0]
        problems.append(f"column '{FLIGHT_TYPE}': expected one of {FLIGHT_TYPES}, got {example!r} at {_rows(bad)}")
    if problems:
        raise DatasetFormatError(f"{path}: " + "; ".join(problems))
    delay = frame[OPERATED_DEPARTURE] - frame[SCHEDULED_DEPARTURE]
    frame[LABEL] = (delay > pd.Timedelta(minutes=DELAY_MINUTES)).astype(np.int64)
    return frame
