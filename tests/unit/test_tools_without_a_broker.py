"""Command-line tools facing a broker that does not answer: one line that says so and exit 1, not a traceback
(nothing listens at the bootstrap address here)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from rich.console import Console
from typer.testing import CliRunner

from kafka_common.cli import app as kafka_app
from kafka_common.cli_support import kafka_logger, wait_for_broker
from local_stack.broker import free_port
from producer.cli import app as producer_app


def test_topics_says_it_cannot_create_them() -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    result = CliRunner().invoke(kafka_app, ["topics", "--bootstrap", nowhere, "--timeout-s", "2"])
    assert result.exit_code == 1, result.output
    assert f"cannot create the topics on {nowhere}:" in result.output
    assert isinstance(result.exception, SystemExit), f"an error escaped: {result.exception!r}"


def test_the_monitors_report_says_it_cannot_read_the_topics(tmp_path: Path) -> None:
    """In a process of its own, as a person runs it: the command sets up the service's logging."""
    nowhere = f"127.0.0.1:{free_port()}"
    out = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "report", "--timeout-s", "2", "--out", str(out)],
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": nowhere},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert f"cannot read the topics at {nowhere}:" in done.stderr and not out.exists(), done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def test_the_monitors_report_refuses_a_page_it_cannot_write_before_it_reads(tmp_path: Path) -> None:
    """A folder for the page, or a file where its folder should be: said at once (exit 2), before the topics are
    read (minutes on a long stream), not as a traceback after them."""
    (tmp_path / "a-file").write_text("")
    for out, said in ((tmp_path, "is a directory"), (tmp_path / "a-file" / "report.html", "cannot make its folder")):
        done = subprocess.run(
            [sys.executable, "-m", "monitor", "report", "--timeout-s", "60", "--out", str(out)],
            env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 2 and said in done.stderr, done.stderr
        assert "cannot read the topics" not in done.stderr, "refused only after it asked the broker"


@pytest.mark.parametrize(
    ("command", "topic"), [("rollback", "flights.model-control"), ("forget-left-behind", "flights.model-fleet")]
)
def test_a_role_command_says_it_cannot_read_its_topic_after_the_clients_own_line(command: str, topic: str) -> None:
    """The client's report (`kafka: ...`) and the command's answer in the order they happened: the answer last,
    where a person reads first. `--timeout-s` bounds the wait, as the other tools' do."""
    nowhere = f"127.0.0.1:{free_port()}"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "training"), command, "--bootstrap", nowhere, "--timeout-s", "2"],
        env={k: v for k, v in os.environ.items() if k not in {"COLUMNS", "LINES"}},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stdout
    assert "Traceback" not in done.stdout, done.stdout
    assert lines[-1].startswith(f"cannot read {topic}: "), lines
    assert any(line.startswith("kafka: ") for line in lines[:-1]), lines


@pytest.mark.parametrize("command", [["redrive"], ["watch", "--idle", "5"]])
def test_a_producer_command_says_it_cannot_reach_the_broker(command: list[str]) -> None:
    """Within `--timeout-s`, as the other tools: not 30 s later as "redrive stopped ... the unfinished batch"
    when no batch was begun, nor an empty table and "0 predictions read" as if the topic were quiet."""
    nowhere = f"127.0.0.1:{free_port()}"
    result = CliRunner().invoke(producer_app, [*command, "--bootstrap", nowhere, "--timeout-s", "2"])
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[-1].startswith(f"cannot reach the broker at {nowhere}: "), result.output
    assert "redrive stopped" not in result.output and "predictions read" not in result.output


class _SaidError(Exception):
    """Raised by the console at the helper's first line: the test stops there and looks at what was shown."""


class _Reports(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class _StopAtFirstLine(Console):
    def print(self, *objects: object, **_kwargs: object) -> None:
        raise _SaidError(" ".join(map(str, objects)))


def test_waiting_for_a_broker_shows_the_clients_reason_and_says_it_waits_long_before_the_wait_ends() -> None:
    """The reason a client cannot connect is on the screen within the first turn, and a line says the tool waits,
    while most of a long timeout is still ahead; a blocking call with the whole timeout said nothing until it
    ended."""
    handler = _Reports()
    reports = handler.records
    logger = kafka_logger()
    logger.addHandler(handler)
    nowhere = f"127.0.0.1:{free_port()}"
    timeout_s = 120.0
    started = time.monotonic()
    try:
        with pytest.raises(_SaidError) as said:
            wait_for_broker({"bootstrap.servers": nowhere, "logger": logger}, timeout_s, _StopAtFirstLine())
    finally:
        logger.removeHandler(handler)
    assert str(said.value) == f"waiting for the broker at {nowhere} (at most 120 s)"
    assert time.monotonic() - started < timeout_s / 4, "said only when the wait was mostly over"
    assert any("Connection refused" in record.getMessage() for record in reports), [r.getMessage() for r in reports]


def test_waiting_for_a_broker_that_never_answers_ends_with_the_clients_error() -> None:
    console = Console(record=True, width=200)
    with pytest.raises(KafkaException):
        wait_for_broker({"bootstrap.servers": f"127.0.0.1:{free_port()}"}, 1.5, console)
    assert console.export_text().count("waiting for the broker") == 1
