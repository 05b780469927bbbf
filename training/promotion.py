"""What `training promote`, `rollback` and `models` decide before anything is written to the control topic.

A version is verified in full first (the pickle with its libraries, the lookup tables the scorer serves, the two
equal), and published when the models live on S3; only then is a record written. Rollback goes back to the
model the current champion replaced, as its own record says: compaction never loses it.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from schemas.model_control import ModelControl, ModelRef, ModelRole
from training.artifact import LoadedModel, load_artifact, lookup_tables, verify
from training.lookup import load_serving_model
from training.manifest import MANIFEST_FILE, ModelVerificationError, file_sha256, read_manifest
from training.model_store import S3_SCHEME, fetched, load_ref, publish_to_s3


def verified(uri: str) -> LoadedModel:
    """The checks of `training verify`: the pickle as training loads it and the tables as the scorer does, on the
    same files (an S3 version's download is removed once both are read)."""
    with fetched(uri) as (directory, _):
        model = load_artifact(directory)
        served = load_serving_model(model.directory)
    if served.tables != lookup_tables(model.pipeline):
        raise ModelVerificationError(f"{model.directory}: lookup.json does not hold the pickled pipeline's model")
    return model


def requester() -> str:
    """Who asked, as the record says it: the user at the host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def promotion(
    model: LoadedModel,
    to: str | None,
    role: ModelRole,
    current: dict[ModelRole, ModelControl],
    reason: str,
    served: ModelRef | None = None,
) -> ModelControl:
    """Publish a version `verified` when `to` is on S3, and return the record that gives it `role`. `served`: the
    champion the fleet serves, which a first champion record replaces (scorers started from `MODEL_URI` serve one
    that no record names)."""
    if to and to.startswith(S3_SCHEME):
        uri = publish_to_s3(model.directory, to, make_latest=False)
    else:
        uri = str(model.directory.resolve())
    ref = ModelRef(version=model.version, uri=uri, manifest_sha256=file_sha256(model.directory / MANIFEST_FILE))
    held = current.get(role)
    if role is ModelRole.CHAMPION and held is None and served is not None and served.version != ref.version:
        return _record(role, ref, served, reason)
    return _record(role, ref, replaced(held, ref), reason)


def replaced(held: ModelControl | None, new: ModelRef) -> ModelRef | None:
    """What a record giving `new` a role replaces: the version that held it, unless that is `new` again (an
    artifact fixed and promoted anew), whose record already names the version to roll back to."""
    if held is None or held.model is None:
        return None
    return held.replaces if held.model.version == new.version else held.model


def clearing(current: dict[ModelRole, ModelControl], reason: str) -> ModelControl:
    held = current.get(ModelRole.CHALLENGER)
    return _record(ModelRole.CHALLENGER, None, held.model if held else None, reason)


def rollback(current: dict[ModelRole, ModelControl], reason: str) -> ModelControl:
    """The record that makes the champion's predecessor champion again, after fetching and verifying it."""
    champion = current.get(ModelRole.CHAMPION)
    if champion is None:
        raise ModelVerificationError("the control topic has no champion: nothing to roll back")
    if champion.replaces is None:
        raise ModelVerificationError(
            f"champion {champion.model.version if champion.model else '?'} replaced no earlier champion: "
            "nothing to roll back to"
        )
    load_ref(champion.replaces)  # refuse before writing, as the scorers would
    return _record(ModelRole.CHAMPION, champion.replaces, champion.model, reason)


def _record(role: ModelRole, model: ModelRef | None, replaces: ModelRef | None, reason: str) -> ModelControl:
    return ModelControl(
        role=role,
        model=model,
        replaces=replaces,
        requested_at=datetime.now(UTC),
        requested_by=requester(),
        reason=reason,
    )


@dataclass(frozen=True)
class VersionSummary:
    version: str
    folder: str
    created_at: str
    roc_auc: float | None
    recall: float | None
    threshold: float | None
    roles: tuple[str, ...]
    refusal: str | None  # why `promote` would refuse this folder, or None


def local_versions(models: Path, current: dict[ModelRole, ModelControl]) -> list[VersionSummary]:
    """Every version folder under `models`, newest first, with its test figures, the roles it holds now, and
    why `promote` would refuse it (a copied folder, a changed file, other libraries) checked as promote checks
    before it opens the pickle."""
    summaries = []
    for manifest_path in sorted(models.glob(f"*/{MANIFEST_FILE}")):
        directory = manifest_path.parent
        if directory.is_symlink():
            continue  # `latest`
        try:
            manifest = read_manifest(directory)
        except ModelVerificationError as exc:
            summaries.append(VersionSummary("?", directory.name, "", None, None, None, (), _without(directory, exc)))
            continue
        test = manifest.get("metrics", {}).get("test", {})
        roles = tuple(
            str(role)
            for role, record in sorted(current.items())
            if record.model is not None and record.model.version == manifest["version"] == directory.name
        )
        summaries.append(
            VersionSummary(
                manifest["version"],
                directory.name,
                str(manifest.get("created_at", "")),
                test.get("roc_auc"),
                test.get("recall_delayed"),
                manifest.get("threshold"),
                roles,
                _refusal(directory, manifest),
            )
        )
    return sorted(summaries, key=lambda s: s.created_at, reverse=True)


def _refusal(directory: Path, manifest: dict[str, object]) -> str | None:
    if manifest["version"] != directory.name:
        return f"the folder is not named after its version {manifest['version']!r} (a copy?)"
    try:
        verify(directory, dict(manifest))
    except ModelVerificationError as exc:
        return _without(directory, exc)
    return None


def _without(directory: Path, exc: ModelVerificationError) -> str:
    """The reason without the folder it names, which the row already shows."""
    return (
        str(exc).replace(f"{directory / MANIFEST_FILE} ", "").replace(f"{directory}: ", "").replace(f"{directory}/", "")
    )
