"""Versioned model artifacts: write `models/<version>/{model.joblib,lookup.json,manifest.json}`, load them verified.

The loader checks the manifest, the artifact's sha256 and the library versions *before* unpickling, so a
tampered or mismatched file is never executed. The scorer does not unpickle at all: it serves the lookup
tables (`training.lookup`) written here from the same pipeline.
"""

from __future__ import annotations

import json
import os
import pickle
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from training.lookup import LookupTables
from training.manifest import (
    FORMAT_VERSION,
    LATEST,
    LOOKUP_FILE,
    MANIFEST_FILE,
    MODEL_FILE,
    DescribedByManifest,
    FeatureSpec,
    ModelManifest,
    ModelVerificationError,
    file_sha256,
    read_manifest,
    resolve_model_dir,
    typed_manifest,
    verify_file,
    verify_identity,
)
from training.pipeline_features import FlightFeatures

# Pickled estimators are only guaranteed to load on the exact versions that wrote them.
PINNED_LIBRARIES = ("scikit-learn", "numpy", "joblib")
RECORDED_LIBRARIES = (*PINNED_LIBRARIES, "pandas", "scipy")


@dataclass(frozen=True)
class LoadedModel(DescribedByManifest):
    """A verified pipeline with its manifest."""

    pipeline: Pipeline
    manifest: ModelManifest
    directory: Path


def library_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in RECORDED_LIBRARIES} | {"python": platform.python_version()}


def is_lookup_model(pipeline: Pipeline) -> bool:
    """True when lookup tables give the pipeline's exact result: our features, plain one-hot with unknowns
    ignored, and a binary logistic regression."""
    steps = pipeline.named_steps
    encoder, logreg = steps.get("onehot"), steps.get("logreg")
    return (
        isinstance(steps.get("features"), FlightFeatures)
        and isinstance(encoder, OneHotEncoder)
        and encoder.handle_unknown == "ignore"
        and encoder.drop_idx_ is None
        and getattr(encoder, "infrequent_categories_", None) is None
        and encoder.min_frequency is None
        and encoder.max_categories is None
        and isinstance(logreg, LogisticRegression)
        and len(logreg.classes_) == 2
        and len(encoder.categories_) == len(steps["features"].get_feature_names_out())
    )


def lookup_tables(pipeline: Pipeline) -> LookupTables:
    """The fitted pipeline's categories, coefficients and intercept; refused for any other shape of pipeline."""
    if not is_lookup_model(pipeline):
        raise ModelVerificationError("only a logistic regression over one-hot flight features has lookup tables")
    encoder, logreg = pipeline.named_steps["onehot"], pipeline.named_steps["logreg"]
    return LookupTables(
        features=[
            FeatureSpec(name=name, categories=[str(c) for c in categories])
            for name, categories in zip(
                pipeline.named_steps["features"].get_feature_names_out(), encoder.categories_, strict=True
            )
        ],
        coefficients=[float(w) for w in logreg.coef_[0]],
        intercept=float(logreg.intercept_[0]),
    )


def save_artifact(pipeline: Pipeline, models_dir: Path, version: str, manifest: dict[str, Any]) -> Path:
    """Write the artifact, its lookup tables (when it has them) and its manifest, then point `latest` at it."""
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
    if is_lookup_model(pipeline):
        lookup_path = directory / LOOKUP_FILE
        lookup_path.write_text(lookup_tables(pipeline).model_dump_json() + "\n")
        full["lookup_sha256"] = file_sha256(lookup_path)
    (directory / MANIFEST_FILE).write_text(json.dumps(full, indent=2, ensure_ascii=False) + "\n")
    link = models_dir / LATEST
    temp_link = models_dir / f".{LATEST}.tmp"
    temp_link.unlink(missing_ok=True)
    temp_link.symlink_to(version, target_is_directory=True)
    os.replace(temp_link, link)
    return directory


def verify(directory: Path, manifest: dict[str, Any]) -> None:
    """Everything that must hold before the pickle is opened."""
    verify_identity(directory, manifest)
    verify_file(directory / MODEL_FILE, manifest["sha256"], "refusing to unpickle it")
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
    try:
        pipeline = joblib.load(directory / MODEL_FILE)  # only reached once the hash matched
    except (AttributeError, ImportError, pickle.UnpicklingError) as exc:
        raise ModelVerificationError(
            f"{directory / MODEL_FILE} cannot be unpickled by this code ({exc}): retrain with `make train`"
        ) from exc
    if not isinstance(pipeline, Pipeline):
        raise ModelVerificationError(f"{directory / MODEL_FILE} holds a {type(pipeline).__name__}, not a Pipeline")
    return LoadedModel(pipeline, typed, directory)
