"""Model versions on disk for rollout tests: the session's trained version copied under other names, and the
references that pin them as a control record or a scorer's fleet status does."""

from __future__ import annotations

import shutil
from pathlib import Path

from schemas.model_control import ModelRef
from training.manifest import file_sha256
from training.model_store import copy_as_version


def version_of(model_dir: Path, models: Path, version: str) -> Path:
    """The trained version copied under another name: the same coefficients, a version of its own."""
    models.mkdir(exist_ok=True)
    staged = models / model_dir.name
    if not staged.exists():
        shutil.copytree(model_dir, staged)
    return copy_as_version(staged, version)


def pinned(directory: Path) -> ModelRef:
    """The reference to the version in `directory`, its manifest's sha256 pinned."""
    return ModelRef(
        version=directory.name, uri=str(directory), manifest_sha256=file_sha256(directory / "manifest.json")
    )
