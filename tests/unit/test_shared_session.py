"""The test workers' shared session artifacts: made once, read back by every worker, retried after a failure."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.shared_session import shared_answer


def _slow_make(calls: Path) -> Callable[[Path], dict[str, Any]]:
    def make(folder: Path) -> dict[str, Any]:
        with calls.open("a") as log:
            log.write(f"{os.getpid()}\n")
        time.sleep(0.5)  # long enough for the other process to ask while this one is still making it
        (folder / "model.txt").write_text("trained")
        return {"folder": folder, "pid": os.getpid()}

    return make


def test_two_workers_asking_at_once_make_it_once_and_get_the_same_answer(tmp_path: Path) -> None:
    calls = tmp_path / "calls.log"
    make = _slow_make(calls)
    child = os.fork()
    if child == 0:  # the other worker
        answer = shared_answer(tmp_path, "models", make)
        (tmp_path / "child-answer").write_text(repr(answer))
        os._exit(0)
    answer = shared_answer(tmp_path, "models", make)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(calls.read_text().splitlines()) == 1
    assert (tmp_path / "child-answer").read_text() == repr(answer)
    assert (answer["folder"] / "model.txt").read_text() == "trained"


def test_a_worker_that_failed_midway_leaves_nothing_the_next_one_would_take(tmp_path: Path) -> None:
    def fails(folder: Path) -> str:
        (folder / "half.txt").write_text("half")
        raise RuntimeError("killed while training")

    with pytest.raises(RuntimeError):
        shared_answer(tmp_path, "models", fails)
    assert shared_answer(tmp_path, "models", lambda folder: sorted(p.name for p in folder.iterdir())) == []
