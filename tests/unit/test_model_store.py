"""Loading a served version from a local path: verified, pinned to the resolved version, nothing left behind."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from schemas.model_control import ModelRef
from training.lookup import ServingModel
from training.manifest import LATEST, MANIFEST_FILE, ModelVerificationError, file_sha256
from training.model_store import load_pinned, load_ref


@pytest.fixture
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary directories' parent for this test alone, to see what a load leaves there."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def test_a_models_root_is_pinned_to_the_version_its_latest_names(
    serving_model: ServingModel, tmp_path: Path, temporary: Path
) -> None:
    root = tmp_path / "models"
    root.mkdir()
    version = shutil.copytree(serving_model.directory, root / serving_model.version)
    (root / LATEST).symlink_to(serving_model.version, target_is_directory=True)
    model, ref = load_pinned(str(root))
    assert model.version == ref.version == serving_model.version
    assert ref.uri == str(version.resolve()), "the version `latest` names, not the root"
    assert ref.manifest_sha256 == file_sha256(serving_model.directory / MANIFEST_FILE)
    assert list(temporary.iterdir()) == []


def test_each_record_loaded_leaves_no_temporary_directory(serving_model: ServingModel, temporary: Path) -> None:
    """A scorer and the monitor load a version per control record, for as long as they run."""
    ref = load_pinned(str(serving_model.directory))[1]
    for _ in range(3):
        assert load_ref(ref).version == serving_model.version
    with pytest.raises(ModelVerificationError, match="the control record pinned"):
        load_ref(ref.model_copy(update={"manifest_sha256": "0" * 64}))
    with pytest.raises(ModelVerificationError, match="the control record names"):
        load_ref(ModelRef(version="20000101T000000Z", uri=ref.uri, manifest_sha256=ref.manifest_sha256))
    assert list(temporary.iterdir()) == []
