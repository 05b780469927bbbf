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


@pytest.mark.parametrize(
    ("options", "chosen"),
    [
        (("--from", "2030-01-01"), "--from 2030-01-01 selects none"),
        (("--start", "20"), "--start 20 selects none"),
        (("--limit", "0", "--with-outcomes"), "--limit 0 selects none"),
    ],
    ids=["dates after the file's", "a start past its rows", "no flight asked for"],
)
def test_a_selection_of_no_flight_says_what_the_file_holds_and_sends_nothing(
    options: tuple[str, ...], chosen: str, tmp_path: Path
) -> None:
    """Not `delivered 0` and exit 0, as if a replay had happened."""
    csv = tmp_path / "flights.csv"
    flights = make_flights(20)
    flights.astype(str).to_csv(csv, index=False)
    days = flights["Fecha-I"].astype(str).str[:10]
    code, output, exception = _replay(csv, *options)
    assert code == 2 and isinstance(exception, SystemExit), (output, exception)
    holds = f"{csv} holds 20 rows, scheduled {days.min()} to {days.max()}"
    assert f"no flight selected, nothing sent: {holds}; {chosen}" in " ".join(output.split()), output


@pytest.mark.parametrize("option", ["--speed", "--lead"])
def test_a_simulated_clock_option_without_outcomes_is_refused_not_ignored(option: str, tmp_path: Path) -> None:
    """Without --with-outcomes the events go out at --rate: a --speed given there would change nothing."""
    csv = tmp_path / "flights.csv"
    make_flights(20).astype(str).to_csv(csv, index=False)
    code, output, exception = _replay(csv, option, "30")
    assert code == 2, (output, exception)
    assert "sets the simulated clock of --with-outcomes" in " ".join(output.split()), output
