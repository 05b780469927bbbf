"""`training verify` refuses what the scorer refuses, with the scorer's exit code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from training.cli import EXIT_REFUSED, app


def test_verify_refuses_a_tampered_model_with_the_scorers_exit_code(model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / model_dir.name
    shutil.copytree(model_dir, copy)
    (copy / "model.joblib").write_bytes((copy / "model.joblib").read_bytes() + b"x")
    result = CliRunner().invoke(app, ["verify", str(copy)])
    assert result.exit_code == EXIT_REFUSED == 2
    assert "refusing to unpickle" in result.output


def test_a_folder_not_named_after_its_version_says_so(model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "my-model"
    shutil.copytree(model_dir, copy)
    result = CliRunner().invoke(app, ["verify", str(copy)])
    assert result.exit_code == 2
    version = json.loads((model_dir / "manifest.json").read_text())["version"]
    assert "must be named after its version" in result.output.replace("\n", " ")
    assert version in result.output
