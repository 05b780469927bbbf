"""`flightdelay-producer replay` on a file it cannot read whole: one line that says where, exit 2, nothing sent
(the whole file is read before the producer is made; nothing listens at the bootstrap address here)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from local_stack.broker import free_port
from producer.cli import app
from tests.support.synthetic import make_flights


def _replay(csv: Path, *options: str) -> tuple[int, str, BaseException | None]:
    nowhere = f"127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, ["replay", "--data", str(csv), "--bootstrap", nowhere, *options])
    return result.exit_code, result.output, result.exception


@pytest.mark.parametrize(
    ("damage", "options", "says"),
    [
        (lambda rows: rows.drop(columns=["Fecha-I"]), (), "no column 'Fecha-I'"),
        (lambda rows: rows.assign(**{"Fecha-I": ["soon", *rows["Fecha-I"][1:]]}), (), "line 2: Invalid isoformat"),
        (lambda rows: rows.assign(TIPOVUELO=[*rows["TIPOVUELO"][:4], "X", *rows["TIPOVUELO"][5:]]), (), "line 6:"),
        (
            lambda rows: rows.assign(**{"Fecha-O": ["", *rows["Fecha-O"][1:]]}),
            ("--with-outcomes",),
            "Fecha-O '' is not a date and time",
        ),
    ],
    ids=["no scheduled column", "a bad date", "a flight type the contract refuses", "a bad actual departure"],
)
def test_a_bad_dataset_is_one_line_and_nothing_is_sent(
    damage: Callable[[pd.DataFrame], pd.DataFrame], options: tuple[str, ...], says: str, tmp_path: Path
) -> None:
    csv = tmp_path / "flights.csv"
    damage(make_flights(20).astype(str)).to_csv(csv, index=False)
    code, output, exception = _replay(csv, "--limit", "20", *options)
    assert code == 2 and isinstance(exception, SystemExit), (output, exception)
    assert "bad dataset, nothing sent:" in output and says in output, output


def test_a_file_that_is_not_text_is_one_line_and_nothing_is_sent(tmp_path: Path) -> None:
    csv = tmp_path / "flights.csv"
    make_flights(20).astype(str).to_csv(csv, index=False)
    csv.write_bytes(csv.read_bytes() + b"\xff\xfe not text\n")
    code, output, exception = _replay(csv)
    assert code == 2 and isinstance(exception, SystemExit), (output, exception)
    assert f"bad dataset, nothing sent: {csv}: not UTF-8 text" in output, output
