"""Session artifacts made once per test run, however many workers it has (pytest-xdist).

Each worker is its own process with its own session fixtures, so without this every worker trains the same models
on the real dataset, side by side on the same cores. The first worker to ask makes the artifact under a file lock
in the run's shared temporary folder; the others wait for it and read the same answer back. The artifacts are
read-only for the tests (a test that changes a model copies it first), which is what makes sharing them safe.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


def made_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], T]) -> T:
    """`make(folder)`'s answer, `folder` being a fresh folder for `name`: computed by the first worker of the run
    to ask and read back by every other (so it must pickle and hold no live resource)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:  # one process: nobody to share with
        return make(tmp_path_factory.mktemp(name))
    return shared_answer(tmp_path_factory.getbasetemp().parent, name, make)  # this run's folder, its workers'


def shared_answer(run_root: Path, name: str, make: Callable[[Path], T]) -> T:
    """`make(run_root / name)`'s answer, made by the first process to ask and pickled beside it for the rest."""
    answer = run_root / f"{name}.pickle"
    with (run_root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not answer.is_file():
                folder = run_root / name
                shutil.rmtree(folder, ignore_errors=True)  # what a process that failed midway left
                folder.mkdir()
                written = answer.with_suffix(".partial")
                written.write_bytes(pickle.dumps(make(folder)))
                written.rename(answer)  # only a whole answer: a process that failed leaves none, the next retries
            made: T = pickle.loads(answer.read_bytes())
            return made
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
