"""The scorer never scores with an unverified model: each broken artifact stops it with exit 2 and a reason."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from local_stack.processes import ScorerProcess

pytestmark = [pytest.mark.integration, pytest.mark.security]


def _tamper(directory: Path) -> None:
    with (directory / "model.joblib").open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\x13\x37")


def _other_version(directory: Path) -> None:
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["version"] = "20990101T000000Z"
    (directory / "manifest.json").write_text(json.dumps(manifest))


def _tamper_tables(directory: Path) -> None:
    path = directory / "lookup.json"
    path.write_text(path.read_text().replace('"intercept":', '"intercept":1+', 1))


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "tampered artifact": (_tamper, "refusing to serve this version"),
    "tampered lookup tables": (_tamper_tables, "lookup.json has sha256"),
    "manifest from another version": (_other_version, "describes version '20990101T000000Z'"),
    "missing model file": (lambda d: (d / "model.joblib").unlink(), "model.joblib is missing"),
    "missing manifest": (lambda d: (d / "manifest.json").unlink(), "manifest.json is missing"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_scorer_refuses_an_unverified_model(bootstrap: str, model_dir: Path, tmp_path: Path, case: str) -> None:
    broken = tmp_path / model_dir.name
    shutil.copytree(model_dir, broken)
    damage, expected = CASES[case]
    damage(broken)
    process = ScorerProcess(bootstrap, broken, tmp_path / "scorer.log", "safety").start()
    assert process.process is not None
    assert process.process.wait(60) == 2
    log = process.log_tail()
    assert "refusing to start" in log
    assert expected in log
    assert "scorer starting" not in log, "it got as far as consuming"
