"""Versioned model artifacts: write `models/<version>/{model.joblib,manifest.json}`, load them verified.

The loader checks the manifest, the artifact's sha256 and the library versions *before* unpickling, so a
tampered or mismatched file is never executed.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sklearn.pipeline import Pipeline

from training.dataset import file_sha256

MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
LATEST = "latest"
FORMAT_VERSION = 1
# Pickled estimators are only guaranteed to load on the exact versions that wrote them.
PINNED_LIBRARIES = ("scikit-learn", "numpy", "joblib")
RECORDED_LIBRARIES = (*PINNED_LIBRARIES, "pandas", "scipy")
REQUIRED_MANIFEST_KEYS = ("format_version", "version", "sha256", "libraries", "threshold", "feature_schema")


class ModelVerificationError(RuntimeError):
    """The artifact cannot be trusted or used here; the message says why and what to do."""


class FeatureSpec(BaseModel):
    name: str
    categories: list[str]


class FeatureSchema(BaseModel):
    input_columns: list[str] = Field(default_factory=list)
    features: list[FeatureSpec] = Field(default_factory=list)


class ModelManifest(BaseModel):
    """`manifest.json`, typed: what the scorer reads is checked once, at load. Other keys are kept as they are."""

    model_config = ConfigDict(extra="allow", frozen=True, protected_namespaces=())

    format_version: int
    version: str
    sha256: str
    libraries: dict[str, str]
    threshold: float = Field(ge=0, le=1)
    feature_schema: FeatureSchema
    destination_names: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = Field(default_factory=dict)


@dataclass(frozen=True)
class LoadedModel:
    """A verified pipeline with its manifest."""

    pipeline: Pipeline
    manifest: ModelManifest
    directory: Path

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def threshold(self) -> float:
        return self.manifest.threshold


def library_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in RECORDED_LIBRARIES} | {"python": platform.python_version()}


def save_artifact(pipeline: Pipeline, models_dir: Path, version: str, manifest: dict[str, Any]) -> Path:
    """Write the artifact and its manifest, then point `models_dir/latest` at it."""
    directory = models_dir / version
    if directory.exists():
        raise FileExistsError(f"{directory} exists; versions are immutable")
    directory.mkdir(parents=True)
    model_path = directory / MODEL_FILE
    joblib.dump(pipeline, model_path)
    full = {
        "format_version": FORMAT_VERSION,
        "version": version,
        **manifest,
        "libraries": library_versions(),
        "sha256": file_sha256(model_path),
    }
    (directory / MANIFEST_FILE).write_text(json.dumps(full, indent=2, ensure_ascii=False) + "\n")
    link = models_dir / LATEST
    temp_link = models_dir / f".{LATEST}.tmp"
    temp_link.unlink(missing_ok=True)
    temp_link.symlink_to(version, target_is_directory=True)
    os.replace(temp_link, link)
    return directory


def resolve_model_dir(path: Path) -> Path:
    """Accept a version directory, or a models directory (then its `latest`)."""
    if (path / MANIFEST_FILE).is_file() or (path / MODEL_FILE).is_file():
        return path.resolve() if path.is_symlink() else path  # `models/latest` itself names its version
    if (path / LATEST).exists():
        return (path / LATEST).resolve()
    raise ModelVerificationError(f"no model at {path}: expected {MANIFEST_FILE} there or a '{LATEST}' link")


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise ModelVerificationError(f"{path} is missing: refusing an artifact without a manifest")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelVerificationError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ModelVerificationError(f"{path} must hold a JSON object")
    missing = [key for key in REQUIRED_MANIFEST_KEYS if key not in manifest]
    if missing:
        raise ModelVerificationError(f"{path} lacks {missing}")
    return manifest


def verify(directory: Path, manifest: dict[str, Any]) -> None:
    """Everything that must hold before the pickle is opened."""
    if manifest["format_version"] != FORMAT_VERSION:
        raise ModelVerificationError(
            f"{directory}: manifest format {manifest['format_version']}, this code reads {FORMAT_VERSION}"
        )
    if manifest["version"] != directory.name:
        raise ModelVerificationError(
            f"{directory}: the manifest describes version {manifest['version']!r}, not {directory.name!r}; a model "
            f"folder must be named after its version (copy it as .../{manifest['version']}/), and its files are "
            "then checked against the manifest's sha256"
        )
    model_path = directory / MODEL_FILE
    if not model_path.is_file():
        raise ModelVerificationError(f"{model_path} is missing")
    actual = file_sha256(model_path)
    if actual != manifest["sha256"]:
        raise ModelVerificationError(
            f"{model_path} has sha256 {actual} but its manifest says {manifest['sha256']}: "
            "the file was changed or corrupted; refusing to unpickle it"
        )
    installed = library_versions()
    recorded = manifest["libraries"]
    mismatched = [
        f"{name} {recorded.get(name)} (installed {installed[name]})"
        for name in PINNED_LIBRARIES
        if recorded.get(name) != installed[name]
    ]
    if mismatched:
        raise ModelVerificationError(
            f"{directory} was trained with "
            + ", ".join(mismatched)
            + ": install the versions in requirements.lock or retrain with `make train`"
        )


def load_artifact(path: Path) -> LoadedModel:
    """Load a verified model from a version directory or a models directory's `latest`."""
    directory = resolve_model_dir(path)
    manifest = read_manifest(directory)
    verify(directory, manifest)
    typed = typed_manifest(directory, manifest)
    pipeline = joblib.load(directory / MODEL_FILE)  # only reached once the hash matched
    if not isinstance(pipeline, Pipeline):
        raise ModelVerificationError(f"{directory / MODEL_FILE} holds a {type(pipeline).__name__}, not a Pipeline")
    return LoadedModel(pipeline, typed, directory)


def typed_manifest(directory: Path, manifest: dict[str, Any]) -> ModelManifest:
    try:
        return ModelManifest.model_validate(manifest)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise ModelVerificationError(
            f"{directory / MANIFEST_FILE} does not describe a usable model: {problems}"
        ) from exc
