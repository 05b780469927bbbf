"""Where models are published: a local path or `s3://bucket/prefix/`, resolved to a local version directory.

S3 objects are only downloaded here; the loaders then apply the same checks as to local files (manifest,
every file's sha256, and for the pickle the library versions), so a model from S3 is never trusted more than one
from disk. A prefix names either one version (`.../<version>/` holding `manifest.json`, `model.joblib` and
`lookup.json`) or a models root whose `latest` object holds the version name, as `training publish` writes it.
The scorer loads with `load_serving`, which never imports scikit-learn; `load_model` gives the pipeline.
A model is held in memory once read, so an S3 version's download is removed then: a scorer that follows many
rollouts, or a `training verify` run, leaves nothing behind.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas.model_control import ModelRef
from training.lookup import ServingModel, load_serving_model
from training.manifest import LATEST, LOOKUP_FILE, MANIFEST_FILE, MODEL_FILE, ModelVerificationError, file_sha256

if TYPE_CHECKING:
    from training.artifact import LoadedModel

S3_SCHEME = "s3://"
VERSION_FILES = (MANIFEST_FILE, MODEL_FILE, LOOKUP_FILE)


def load_model(uri: str) -> LoadedModel:
    """Load a verified pipeline from a local path or an S3 URI."""
    from training.artifact import load_artifact

    with fetched(uri) as (directory, _):
        return load_artifact(directory)


def load_serving(uri: str) -> ServingModel:
    """Load a verified model as the scorer serves it (lookup tables), from a local path or an S3 URI."""
    return load_pinned(uri)[0]


def load_pinned(uri: str) -> tuple[ServingModel, ModelRef]:
    """A served model and the reference that pins it: the version's own URI (a models root's `latest`
    followed) and its manifest's sha256, read before an S3 download is removed."""
    with fetched(uri) as (directory, version_uri):
        model = load_serving_model(directory)
        ref = ModelRef(
            version=model.version,
            uri=version_uri or str(model.directory),
            manifest_sha256=file_sha256(model.directory / MANIFEST_FILE),
        )
    return model, ref


@contextmanager
def fetched(uri: str) -> Iterator[tuple[Path, str | None]]:
    """A local path as it is (no version URI: the loader resolves `latest`); an S3 version downloaded into a
    temporary directory that is removed on leaving, with the URI of the version it resolved to."""
    if not uri.startswith(S3_SCHEME):
        yield Path(uri), None
        return
    with tempfile.TemporaryDirectory(prefix="flightdelay-model-") as download:
        directory, version_uri = download_s3_version(uri, Path(download))
        yield directory, version_uri


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/a/b` -> (`bucket`, `a/b/`): the prefix always ends with one slash (or is empty)."""
    bucket, _, prefix = uri.removeprefix(S3_SCHEME).partition("/")
    if not bucket:
        raise ModelVerificationError(f"{uri!r} names no bucket: expected s3://bucket/prefix/")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def download_s3_version(uri: str, target: Path) -> tuple[Path, str]:
    """Download one model version's files into `target/<version>/`: that directory and the version's URI."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = split_s3_uri(uri)
    s3 = boto3.client("s3")
    try:
        _check_bucket(s3, bucket)
        if not _exists(s3, bucket, prefix + MANIFEST_FILE):
            latest = prefix + LATEST
            if not _exists(s3, bucket, latest):
                raise ModelVerificationError(
                    f"no model at {uri}: expected {prefix}{MANIFEST_FILE} or a '{LATEST}' object there"
                )
            version = s3.get_object(Bucket=bucket, Key=latest)["Body"].read().decode().strip()
            if not version or "/" in version:
                raise ModelVerificationError(f"s3://{bucket}/{latest} holds {version!r}, not a version name")
            prefix = f"{prefix}{version}/"
        version_dir = target / prefix.rstrip("/").rsplit("/", 1)[-1]
        version_dir.mkdir(parents=True, exist_ok=True)
        for name in VERSION_FILES:
            if _exists(s3, bucket, prefix + name):  # a missing file is reported by the verified load
                s3.download_file(bucket, prefix + name, str(version_dir / name))
    except ClientError as exc:
        raise ModelVerificationError(f"cannot read {uri}: {exc}") from exc
    except BotoCoreError as exc:  # no credentials, endpoint unreachable, ...
        raise ModelVerificationError(f"cannot reach {uri}: {exc}") from exc
    return version_dir, f"{S3_SCHEME}{bucket}/{prefix}"


def _check_bucket(s3: Any, bucket: str) -> None:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        reason = {"404": "does not exist", "403": "is not readable with these credentials"}.get(str(code), str(exc))
        raise ModelVerificationError(f"bucket {bucket!r} {reason}") from exc


def _exists(s3: Any, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise
    return True


def publish_to_s3(version_dir: Path, uri: str, make_latest: bool = True) -> str:
    """Upload a verified local version to `uri/<version>/`, then (optionally) point `uri/latest` at it.

    The files go first and the pointer last, so a reader never finds a pointer to a half-uploaded version.
    """
    import boto3

    from training.artifact import load_artifact

    loaded = load_artifact(version_dir)  # refuse to publish what could not be loaded
    load_serving_model(loaded.directory)  # nor what the scorer would refuse
    bucket, prefix = split_s3_uri(uri)
    s3 = boto3.client("s3")
    version_prefix = f"{prefix}{loaded.version}/"
    for name in VERSION_FILES:
        s3.upload_file(str(loaded.directory / name), bucket, version_prefix + name)
    if make_latest:
        s3.put_object(Bucket=bucket, Key=prefix + LATEST, Body=loaded.version.encode())
    return f"{S3_SCHEME}{bucket}/{version_prefix}"


def load_ref(ref: ModelRef) -> ServingModel:
    """Fetch and verify the version a record names: its manifest must be the one the record pinned."""
    model, pinned = load_pinned(ref.uri)
    if pinned.manifest_sha256 != ref.manifest_sha256:
        raise ModelVerificationError(
            f"{ref.uri}: {MANIFEST_FILE} has sha256 {pinned.manifest_sha256}, the control record pinned "
            f"{ref.manifest_sha256}"
        )
    if model.version != ref.version:
        raise ModelVerificationError(f"{ref.uri} holds version {model.version}, the control record names {ref.version}")
    return model


def copy_as_version(directory: Path, version: str) -> Path:
    """The files of a version under another version name, beside it: the same model to rehearse a rollout with
    (benchmarks, tests) without training twice. Only the manifest changes, so it verifies as its own version."""
    target = directory.parent / version
    shutil.copytree(directory, target)
    manifest = json.loads((target / MANIFEST_FILE).read_text())
    manifest["version"] = version
    (target / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return target
