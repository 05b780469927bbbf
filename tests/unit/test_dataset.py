"""Bad CSVs fail with the file, the line numbers and the column, never a bare pandas traceback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.support.synthetic import make_flights
from training.dataset import LABEL, DatasetFormatError, load_flights


def _write(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "flights.csv"
    frame.to_csv(path, index=False)
    return path


def test_loads_and_labels(tmp_path: Path) -> None:
    frame = make_flights(200)
    loaded = load_flights(_write(tmp_path, frame))
    delay = pd.to_datetime(frame["Fecha-O"]) - pd.to_datetime(frame["Fecha-I"])
    assert loaded[LABEL].tolist() == (delay > pd.Timedelta(minutes=15)).astype(int).tolist()


def test_label_boundary_is_strictly_more_than_15_minutes(tmp_path: Path) -> None:
    frame = make_flights(2)
    frame["Fecha-I"] = ["2017-01-01 10:00:00", "2017-01-01 10:00:00"]
    frame["Fecha-O"] = ["2017-01-01 10:15:00", "2017-01-01 10:16:00"]
    assert load_flights(_write(tmp_path, frame))[LABEL].tolist() == [0, 1]


def test_missing_column(tmp_path: Path) -> None:
    path = _write(tmp_path, make_flights(5).drop(columns=["TIPOVUELO"]))
    with pytest.raises(DatasetFormatError, match=r"flights\.csv: missing column\(s\) \['TIPOVUELO'\]"):
        load_flights(path)


def test_unparseable_dates_name_lines_and_column(tmp_path: Path) -> None:
    frame = make_flights(20)
    frame.loc[[3, 11], "Fecha-I"] = ["2017-13-01 10:00:00", "yesterday"]
    with pytest.raises(DatasetFormatError) as error:
        load_flights(_write(tmp_path, frame))
    message = str(error.value)
    assert "flights.csv" in message
    assert "column 'Fecha-I': unparseable date" in message
    assert "lines 5, 13" in message  # data row 3 is file line 5 (header is line 1)


def test_wrong_type_and_bad_category(tmp_path: Path) -> None:
    frame = make_flights(20)
    frame.loc[0, "MES"] = "enero"
    frame.loc[7, "TIPOVUELO"] = "X"
    frame.loc[9, "OPERA"] = " "
    with pytest.raises(DatasetFormatError) as error:
        load_flights(_write(tmp_path, frame))
    message = str(error.value)
    assert "column 'MES': not an integer (e.g. 'enero') at line 2" in message
    assert "column 'TIPOVUELO': expected one of ('I', 'N'), got 'X' at line 9" in message
    assert "column 'OPERA': empty value at line 11" in message


def test_many_bad_rows_are_summarised(tmp_path: Path) -> None:
    frame = make_flights(40)
    frame["Fecha-O"] = "n/a"
    with pytest.raises(DatasetFormatError, match="and 30 more"):
        load_flights(_write(tmp_path, frame))


def test_not_utf8_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("Fecha-I,OPERA\n2017-01-01 00:00:00,Línea Aérea\n".encode("latin-1"))
    with pytest.raises(DatasetFormatError, match="not a readable UTF-8 CSV"):
        load_flights(path)
    with pytest.raises(DatasetFormatError, match="no such file"):
        load_flights(tmp_path / "absent.csv")
