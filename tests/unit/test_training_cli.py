"""`training verify` and `promote` refuse what the scorer refuses, with the scorer's exit code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from local_stack.broker import free_port
from training.cli import EXIT_REFUSED, app


def test_verify_refuses_a_tampered_model_with_the_scorers_exit_code(model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / model_dir.name
    shutil.copytree(model_dir, copy)
    (copy / "model.joblib").write_bytes((copy / "model.joblib").read_bytes() + b"x")
    result = CliRunner().invoke(app, ["verify", str(copy)])
    assert result.exit_code == EXIT_REFUSED == 2
    assert "refusing to unpickle" in result.output


def test_promote_refuses_a_missing_or_damaged_version_before_it_asks_the_broker(
    model_dir: Path, tmp_path: Path
) -> None:
    """Nothing listens at the bootstrap address: asking the broker would end in "cannot read" after its timeout."""
    damaged = tmp_path / model_dir.name
    shutil.copytree(model_dir, damaged)
    (damaged / "model.joblib").write_bytes((damaged / "model.joblib").read_bytes() + b"x")
    nowhere = f"127.0.0.1:{free_port()}"
    for version, says in (("no-such-version", "no model at"), (damaged.name, "refusing to unpickle")):
        result = CliRunner().invoke(app, ["promote", version, "--models", str(tmp_path), "--bootstrap", nowhere])
        assert result.exit_code == EXIT_REFUSED and says in result.output, result.output
        assert "cannot read" not in result.output


def test_a_folder_not_named_after_its_version_says_so(model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "my-model"
    shutil.copytree(model_dir, copy)
    result = CliRunner().invoke(app, ["verify", str(copy)])
    assert result.exit_code == 2
    version = json.loads((model_dir / "manifest.json").read_text())["version"]
    assert "must be named after its version" in result.output
    assert version in result.output


def test_a_model_trained_on_january_october_never_saw_a_later_flight(tmp_path: Path) -> None:
    """What the drift story deploys: trained, thresholded and profiled on flights scheduled before November."""
    result = CliRunner().invoke(
        app, ["fit", "--scheduled-before", "2017-11-01", "--out", str(tmp_path), "--version", "jan-oct", "--c", "0.1"]
    )
    assert result.exit_code == 0, result.output
    assert "] loading and checking the dataset\n" in result.output  # each step a line off a terminal
    manifest = json.loads((tmp_path / "jan-oct" / "manifest.json").read_text())
    assert manifest["scheduled_before"] == "2017-11-01"
    assert set(manifest["reference"]["features"]["month"]) == {str(m) for m in range(1, 11)}
    assert set(manifest["metrics"]) == {"test"}  # no November-December to test a temporal split on
    assert 55_000 < manifest["data_rows"] < 56_000
    assert "Temporal split" not in (tmp_path / "jan-oct" / "report.md").read_text()


def test_a_day_before_every_flight_is_refused_clearly(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["fit", "--scheduled-before", "2016-01-01", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "no flight is scheduled before 2016-01-01" in result.output


def test_if_missing_leaves_a_served_model_alone(model_dir: Path, tmp_path: Path) -> None:
    """A compose stack started again (a profile's service added) must not train and move `latest`."""
    shutil.copytree(model_dir, tmp_path / model_dir.name)
    (tmp_path / "latest").symlink_to(model_dir.name)
    result = CliRunner().invoke(app, ["fit", "--if-missing", "--out", str(tmp_path), "--data", "no-such.csv"])
    assert result.exit_code == 0, result.output
    assert f"is {model_dir.name}: nothing trained (--if-missing)" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([model_dir.name, "latest"])
    assert (tmp_path / "latest").resolve().name == model_dir.name


def test_a_lead_without_the_stream_features_is_refused_before_anything_is_trained(tmp_path: Path) -> None:
    """It would be ignored: a version without the stream features has no lead, and a model trained for nothing
    would become `latest`."""
    result = CliRunner().invoke(app, ["fit", "--lead-minutes", "30", "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "is the stream features' lead: give --stream-features too" in " ".join(result.output.split())
    assert list(tmp_path.iterdir()) == []
