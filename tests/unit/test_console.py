"""What the command-line tools print does not depend on the terminal's width (the suite runs every test under a
40-column `COLUMNS`, see conftest): lines never wrap and tables are never cut off a terminal."""

from __future__ import annotations

import pytest
import typer
from rich.table import Table
from typer.testing import CliRunner

from kafka_common.console import command_app, output_console, progress_bar, step_progress

LONG_LINE = "build/run/monitor-report.html: 13,642 joined predictions of 2 versions, 6,821 flights " * 3
COLUMNS = [f"column number {n}" for n in range(12)]


def test_a_long_line_stays_one_line_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    output_console().print(LONG_LINE)
    assert capsys.readouterr().out == LONG_LINE + "\n"


def test_a_wide_table_keeps_every_column_and_every_cell_whole(capsys: pytest.CaptureFixture[str]) -> None:
    table = Table(*COLUMNS)
    table.add_row(*(f"value of {name}" for name in COLUMNS))
    output_console(stderr=True).print(table)
    lines = capsys.readouterr().err.splitlines()
    header = next(line for line in lines if "column number 0" in line)
    row = next(line for line in lines if "value of column number 0" in line)
    assert all(name in header for name in COLUMNS)
    assert all(f"value of {name}" in row for name in COLUMNS)


def test_a_usage_error_is_one_plain_line_off_a_terminal() -> None:
    app = command_app()

    @app.command()
    def main(count: int = typer.Option(1, min=1, help="how many")) -> None:
        """A command with a bounded option."""

    result = CliRunner().invoke(app, ["--count", "0"], env={"COLUMNS": "40"})
    assert result.exit_code == 2
    assert "Error: Invalid value for '--count': Input should be greater than or equal to 1\n" in result.output


def test_a_long_job_prints_a_line_a_step_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """A bar off a terminal shows nothing until it ends and then leaves an empty line; a log needs the steps."""
    with step_progress(output_console(), total=2) as step:
        step("loading [the] dataset")
        step("fitting")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == ["loading [the] dataset", "fitting"]
    assert lines[0].startswith("[1/2, ") and lines[1].startswith("[2/2, ")


def test_a_bar_off_a_terminal_leaves_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bar(output_console(), "{task.description}") as progress:
        progress.advance(progress.add_task("replaying", total=2), 2)
    assert capsys.readouterr().out == ""
