"""`flightdelay-kafka topics` facing a broker that does not answer: one line that says so, not a traceback."""

from __future__ import annotations

from typer.testing import CliRunner

from kafka_common.cli import app
from local_stack.broker import free_port


def test_a_broker_that_does_not_answer_is_one_line_and_exit_1() -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens there
    result = CliRunner().invoke(app, ["topics", "--bootstrap", nowhere, "--timeout-s", "2"])
    assert result.exit_code == 1, result.output
    assert f"cannot create the topics on {nowhere}:" in result.output
    assert isinstance(result.exception, SystemExit), f"an error escaped: {result.exception!r}"
