"""A logistic model over one-hot features, as the tables the scorer serves it from: no pickle, no scikit-learn.

Such a model is its categories and coefficients: `P(delay) = expit(intercept + sum of the coefficients of the
event's categories)`. Training writes them as `lookup.json` beside the pickle, and the manifest records its
sha256. The scorer reads only this file, after checking every file of the version against the manifest, so it
never unpickles anything and never imports scikit-learn, SciPy or pandas. `training verify` holds the tables
equal to the pickled pipeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from training.features import FEATURE_NAMES
from training.manifest import (
    LOOKUP_FILE,
    MODEL_FILE,
    DescribedByManifest,
    FeatureSpec,
    ModelManifest,
    ModelVerificationError,
    field_problems,
    read_manifest,
    resolve_model_dir,
    typed_manifest,
    verify_file,
    verify_identity,
)
from training.stream_features import STREAM_FEATURE_NAMES


class LookupTables(BaseModel):
    """Categories per feature in encoder column order, one coefficient per category, and the intercept."""

    model_config = ConfigDict(frozen=True)

    features: list[FeatureSpec]
    coefficients: list[float]
    intercept: float

    @model_validator(mode="after")
    def _servable(self) -> LookupTables:
        names = tuple(feature.name for feature in self.features)
        stream = names[len(FEATURE_NAMES) :]
        if names[: len(FEATURE_NAMES)] != FEATURE_NAMES or not set(stream) <= set(STREAM_FEATURE_NAMES):
            raise ValueError(
                f"features {list(names)} are not the ones this scorer computes ({list(FEATURE_NAMES)}, then stream "
                "features)"
            )
        columns = sum(len(feature.categories) for feature in self.features)
        if columns != len(self.coefficients):
            raise ValueError(f"{len(self.coefficients)} coefficients for {columns} categories")
        if not all(map(math.isfinite, [*self.coefficients, self.intercept])):
            raise ValueError("coefficients and intercept must be finite numbers")
        return self

    def column_of(self) -> dict[str, dict[str, int]]:
        """Per feature, each category's column number in the coefficient vector."""
        columns: dict[str, dict[str, int]] = {}
        offset = 0
        for feature in self.features:
            columns[feature.name] = {category: offset + i for i, category in enumerate(feature.categories)}
            offset += len(feature.categories)
        return columns


@dataclass(frozen=True)
class ServingModel(DescribedByManifest):
    """A verified version as the scorer serves it: its manifest and its lookup tables."""

    manifest: ModelManifest
    tables: LookupTables
    directory: Path  # where its files were read; an S3 version's download is removed once they are


def load_serving_model(path: Path) -> ServingModel:
    """Verify a version directory (or a models directory's `latest`) and read its lookup tables."""
    directory = resolve_model_dir(path)
    raw = read_manifest(directory)
    verify_identity(directory, raw)
    manifest = typed_manifest(directory, raw)
    if manifest.lookup_sha256 is None:
        raise ModelVerificationError(
            f"{directory}: the manifest names no {LOOKUP_FILE}; the scorer serves logistic models over one-hot "
            "features from their lookup tables, which `make train` writes"
        )
    # Every file of the version, including the pickle the scorer never opens: a version is one unit.
    verify_file(directory / MODEL_FILE, manifest.sha256, "refusing to serve this version")
    verify_file(directory / LOOKUP_FILE, manifest.lookup_sha256, "refusing to serve this version")
    try:
        tables = LookupTables.model_validate_json((directory / LOOKUP_FILE).read_bytes())
    except ValidationError as exc:
        raise ModelVerificationError(f"{directory / LOOKUP_FILE} cannot be served: {field_problems(exc)}") from exc
    if tables.features != manifest.feature_schema.features:
        raise ModelVerificationError(
            f"{directory}: {LOOKUP_FILE} and the manifest's feature_schema list different categories"
        )
    stream = [feature.name for feature in tables.features[len(FEATURE_NAMES) :]]
    binned = [feature.name for feature in manifest.stream_features.features] if manifest.stream_features else []
    if stream != binned:
        raise ModelVerificationError(
            f"{directory}: {LOOKUP_FILE} reads the stream features {stream}, the manifest bins {binned}"
        )
    return ServingModel(manifest, tables, directory)
