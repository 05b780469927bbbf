"""Artifacts round-trip, and every untrustworthy one is refused before anything is unpickled."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.synthetic import make_flights
from training import artifact
from training.artifact import load_artifact, save_artifact
from training.dataset import LABEL, load_flights
from training.manifest import ModelVerificationError
from training.models import production_model
from training.scoring import delay_probabilities


@pytest.fixture(scope="module")
def flights(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("data") / "flights.csv"
    make_flights(3000).to_csv(path, index=False)
    return load_flights(path)


@pytest.fixture
def models_dir(tmp_path: Path, flights: Any) -> Path:
    pipeline = production_model().fit(flights, flights[LABEL])
    save_artifact(pipeline, tmp_path, "v1", {"threshold": 0.3, "feature_schema": {}, "metrics": {}})
    save_artifact(pipeline, tmp_path, "v2", {"threshold": 0.4, "feature_schema": {}, "metrics": {}})
    return tmp_path


@pytest.fixture
def no_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("joblib.load was called on an unverified artifact")

    monkeypatch.setattr("joblib.load", refuse)


def test_round_trip_and_latest(models_dir: Path, flights: Any) -> None:
    latest = load_artifact(models_dir)
    assert latest.version == "v2"
    assert latest.threshold == 0.4
    assert (models_dir / "latest").resolve() == (models_dir / "v2").resolve()
    assert load_artifact(models_dir / "latest").version == "v2", "the link itself names its version"
    v1 = load_artifact(models_dir / "v1")
    records = flights.head(50).to_dict("records")
    assert np.array_equal(delay_probabilities(v1.pipeline, records), delay_probabilities(latest.pipeline, records))
    manifest = json.loads((models_dir / "v1" / "manifest.json").read_text())
    assert manifest["libraries"]["scikit-learn"] == artifact.library_versions()["scikit-learn"]
    assert len(manifest["sha256"]) == 64


def test_versions_are_immutable(models_dir: Path, flights: Any) -> None:
    with pytest.raises(FileExistsError):
        save_artifact(production_model(), models_dir, "v1", {"threshold": 0.5, "feature_schema": {}})


@pytest.mark.usefixtures("no_unpickling")
def test_tampered_artifact_is_never_unpickled(models_dir: Path) -> None:
    model_file = models_dir / "v1" / "model.joblib"
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_file.write_bytes(bytes(data))
    with pytest.raises(ModelVerificationError, match="was changed or corrupted; refusing to unpickle"):
        load_artifact(models_dir / "v1")


@pytest.mark.usefixtures("no_unpickling")
def test_manifest_from_another_version(models_dir: Path) -> None:
    shutil.copy(models_dir / "v2" / "manifest.json", models_dir / "v1" / "manifest.json")
    with pytest.raises(ModelVerificationError, match="describes version 'v2', not 'v1'"):
        load_artifact(models_dir / "v1")


@pytest.mark.usefixtures("no_unpickling")
@pytest.mark.parametrize("missing", ["model.joblib", "manifest.json"])
def test_missing_file(models_dir: Path, missing: str) -> None:
    (models_dir / "v1" / missing).unlink()
    with pytest.raises(ModelVerificationError, match=f"{missing} is missing"):
        load_artifact(models_dir / "v1")


@pytest.mark.usefixtures("no_unpickling")
@pytest.mark.parametrize("library", ["scikit-learn", "numpy", "joblib"])
def test_library_version_mismatch(models_dir: Path, library: str) -> None:
    path = models_dir / "v1" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["libraries"][library] = "0.0.1"
    path.write_text(json.dumps(manifest))
    with pytest.raises(ModelVerificationError, match=f"trained with {library} 0.0.1 \\(installed "):
        load_artifact(models_dir / "v1")


@pytest.mark.usefixtures("no_unpickling")
def test_garbled_manifest_and_empty_dir(models_dir: Path, tmp_path: Path) -> None:
    (models_dir / "v1" / "manifest.json").write_text("{not json")
    with pytest.raises(ModelVerificationError, match="not valid JSON"):
        load_artifact(models_dir / "v1")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelVerificationError, match="no model at"):
        load_artifact(empty)


def test_training_is_reproducible(flights: Any, tmp_path: Path) -> None:
    """Same data and code give a byte-identical artifact."""
    first = save_artifact(
        production_model().fit(flights, flights[LABEL]), tmp_path, "a", {"threshold": 0.5, "feature_schema": {}}
    )
    second = save_artifact(
        production_model().fit(flights, flights[LABEL]), tmp_path, "b", {"threshold": 0.5, "feature_schema": {}}
    )
    first_sha = json.loads((first / "manifest.json").read_text())["sha256"]
    assert first_sha == json.loads((second / "manifest.json").read_text())["sha256"]
