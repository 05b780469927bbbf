"""A model version's manifest and the checks that need no model library: read, typed, files against sha256.

Kept apart from the pickle (`training.artifact`) so that the scorer, which serves a model from its lookup tables
(`training.lookup`), verifies a version without importing scikit-learn, SciPy or pandas.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from training.reference import ReferenceProfile

MODEL_FILE = "model.joblib"
LOOKUP_FILE = "lookup.json"
MANIFEST_FILE = "manifest.json"
LATEST = "latest"
FORMAT_VERSION = 1
# The online figures a manifest's test figures are compared with (the scorer's gauges, the monitor's report):
# the monitor's figure names, and the manifest's keys for them.
OFFLINE_FIGURES = {
    "roc_auc": "roc_auc",
    "pr_auc": "pr_auc",
    "recall": "recall_delayed",
    "precision": "precision_delayed",
    "brier": "brier",
}
REQUIRED_MANIFEST_KEYS = ("format_version", "version", "sha256", "libraries", "threshold", "feature_schema")


class ModelVerificationError(RuntimeError):
    """The artifact cannot be trusted or used here; the message says why and what to do."""


class FeatureSpec(BaseModel):
    name: str
    categories: list[str]


class FeatureSchema(BaseModel):
    input_columns: list[str] = Field(default_factory=list)
    features: list[FeatureSpec] = Field(default_factory=list)


class StreamFeatureBins(BaseModel):
    name: str
    edges: list[float]


class StreamFeatureSpec(BaseModel):
    """The stream features a version reads (`training.stream_features`): how far ahead of its scheduled departure
    a flight event was assumed known in training, and each feature's bin edges."""

    lead_minutes: int = Field(ge=0)
    features: list[StreamFeatureBins]


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
    # The lookup tables' sha256; absent when the pipeline is not a logistic model over one-hot features.
    lookup_sha256: str | None = None
    # What the model saw, for drift monitoring; absent in versions trained before it was recorded.
    reference: ReferenceProfile | None = None
    # The stream features the version reads; absent when it reads only the flight event.
    stream_features: StreamFeatureSpec | None = None


class DescribedByManifest:
    """What every loaded form of a version (pipeline or lookup tables) answers from its manifest."""

    manifest: ModelManifest

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def threshold(self) -> float:
        return self.manifest.threshold


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


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


def verify_identity(directory: Path, manifest: dict[str, Any]) -> None:
    """The manifest is one this code reads, and it describes the version its folder is named after."""
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


def verify_file(path: Path, expected: str, consequence: str) -> None:
    """The file exists and has the sha256 the manifest recorded; `consequence` says what is refused if not."""
    if not path.is_file():
        raise ModelVerificationError(f"{path} is missing")
    actual = file_sha256(path)
    if actual != expected:
        raise ModelVerificationError(
            f"{path} has sha256 {actual} but its manifest says {expected}: the file was changed or corrupted; "
            f"{consequence}"
        )


def typed_manifest(directory: Path, manifest: dict[str, Any]) -> ModelManifest:
    try:
        return ModelManifest.model_validate(manifest)
    except ValidationError as exc:
        raise ModelVerificationError(
            f"{directory / MANIFEST_FILE} does not describe a usable model: {field_problems(exc)}"
        ) from exc


def field_problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
