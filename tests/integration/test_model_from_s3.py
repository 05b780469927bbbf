"""`MODEL_URI=s3://...` against a real S3-compatible HTTP server (moto in server mode), not a patched function.

The same refusal rules as for local files hold: sha256 before unpickling, manifest version, library versions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from kafka_common.settings import TopicSettings
from local_stack.broker import free_port
from local_stack.processes import ScorerProcess
from tests.support.streaming import scorer_env
from training.artifact import LoadedModel
from training.manifest import MANIFEST_FILE, ModelVerificationError, file_sha256
from training.model_store import load_model, load_pinned, load_ref, publish_to_s3

pytestmark = pytest.mark.integration
BUCKET = "flightdelay-models"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Credentials and endpoint through the environment, as the scorer gets them on ECS."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_published_version_loads_verified(s3: Any, model_dir: Path, model: LoadedModel) -> None:
    uri = publish_to_s3(model_dir, f"s3://{BUCKET}/models/")
    assert uri == f"s3://{BUCKET}/models/{model.version}/"
    for target in (uri, f"s3://{BUCKET}/models", f"s3://{BUCKET}/models/"):  # a version, or the root's latest
        loaded = load_model(target)
        assert loaded.version == model.version
        assert loaded.manifest.sha256 == model.manifest.sha256
    assert s3.get_object(Bucket=BUCKET, Key="models/latest")["Body"].read().decode() == model.version


def _upload(s3: Any, model_dir: Path, prefix: str, *, model: bytes | None = None, manifest: Any = None) -> None:
    s3.put_object(Bucket=BUCKET, Key=prefix + "model.joblib", Body=model or (model_dir / "model.joblib").read_bytes())
    s3.put_object(Bucket=BUCKET, Key=prefix + "lookup.json", Body=(model_dir / "lookup.json").read_bytes())
    body = json.dumps(manifest).encode() if manifest is not None else (model_dir / "manifest.json").read_bytes()
    s3.put_object(Bucket=BUCKET, Key=prefix + "manifest.json", Body=body)


def test_tampered_object_is_refused_before_unpickling(s3: Any, model_dir: Path) -> None:
    data = bytearray((model_dir / "model.joblib").read_bytes())
    data[200:202] = b"\x13\x37"
    _upload(s3, model_dir, f"tampered/{model_dir.name}/", model=bytes(data))
    with pytest.raises(ModelVerificationError, match="refusing to unpickle"):
        load_model(f"s3://{BUCKET}/tampered/{model_dir.name}/")


def test_manifest_of_another_version_and_other_sklearn_are_refused(s3: Any, model_dir: Path) -> None:
    manifest = json.loads((model_dir / "manifest.json").read_text())
    _upload(s3, model_dir, "renamed/20990101T000000Z/")
    with pytest.raises(ModelVerificationError, match="describes version"):
        load_model(f"s3://{BUCKET}/renamed/20990101T000000Z/")
    manifest["libraries"]["scikit-learn"] = "1.0.2"
    _upload(s3, model_dir, f"oldlib/{model_dir.name}/", manifest=manifest)
    with pytest.raises(ModelVerificationError, match=r"trained with scikit-learn 1\.0\.2"):
        load_model(f"s3://{BUCKET}/oldlib/{model_dir.name}/")


def test_missing_objects_and_bucket_are_clear_errors(s3: Any, model_dir: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"nomodel/{model_dir.name}/manifest.json", Body=b"{}")
    with pytest.raises(ModelVerificationError, match="lacks"):
        load_model(f"s3://{BUCKET}/nomodel/{model_dir.name}/")
    with pytest.raises(ModelVerificationError, match="no model at"):
        load_model(f"s3://{BUCKET}/nothing-here/")
    with pytest.raises(ModelVerificationError, match=r"bucket 'no-such-bucket' does not exist"):
        load_model("s3://no-such-bucket/models/")
    with pytest.raises(ModelVerificationError, match="names no bucket"):
        load_model("s3:///models/")


def test_scorer_starts_from_s3_and_refuses_a_tampered_one(
    s3: Any, bootstrap: str, stream_topics: TopicSettings, model_dir: Path, model: LoadedModel, tmp_path: Path
) -> None:
    publish_to_s3(model_dir, f"s3://{BUCKET}/models/")
    env = scorer_env(stream_topics)
    good = ScorerProcess(bootstrap, f"s3://{BUCKET}/models/", tmp_path / "good.log", "s3-good", env).start()
    try:
        good.wait_ready()
        assert f'flightdelay_model_info{{version="{model.version}"}} 1.0' in good.get("/metrics")[1].decode()
        assert good.stop() == 0
    finally:
        good.kill()
    data = bytearray((model_dir / "model.joblib").read_bytes())
    data[200:202] = b"\x13\x37"
    _upload(s3, model_dir, f"tampered/{model_dir.name}/", model=bytes(data))
    bad = ScorerProcess(bootstrap, f"s3://{BUCKET}/tampered/{model_dir.name}/", tmp_path / "bad.log", "s3-bad")
    bad.start()
    assert bad.process is not None
    assert bad.process.wait(60) == 2
    assert "refusing to start" in bad.log_tail()
    assert "refusing to serve this version" in bad.log_tail()


def test_publish_and_verify_commands_as_cd_runs_them(
    s3: Any, model_dir: Path, model: LoadedModel, tmp_path: Path
) -> None:
    """The two lines of cd.yml's publish step, run as commands; the verified download is not left behind."""
    bin_dir = Path(sys.executable).parent
    published = subprocess.run(
        [bin_dir / "training", "publish", "--to", f"s3://{BUCKET}/cd/", "--no-latest", str(model_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    uri = published.stdout.strip().splitlines()[-1]
    assert uri == f"s3://{BUCKET}/cd/{model.version}/"
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="cd/")["Contents"]}
    files = {"model.joblib", "lookup.json", "manifest.json"}
    assert keys == {f"cd/{model.version}/{name}" for name in files}, "every file of the version, no latest pointer"
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    verified = subprocess.run(
        [bin_dir / "training", "verify", uri],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(temporary)},
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"version {model.version}" in verified.stdout
    assert list(temporary.iterdir()) == [], "the download is removed once verified"


def test_promote_uploads_to_s3_and_the_record_verifies_from_there(s3: Any, model_dir: Path, tmp_path: Path) -> None:
    """With MODEL_URI on S3, `training promote` publishes the version first; scorers fetch it from the record."""
    from schemas.model_control import ModelRole
    from training.promotion import promotion, verified

    record = promotion(verified(str(model_dir)), f"s3://{BUCKET}/models/", ModelRole.CHAMPION, {}, "s3 rollout")
    assert record.model is not None
    assert record.model.uri == f"s3://{BUCKET}/models/{model_dir.name}/"
    assert load_ref(record.model).version == model_dir.name
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="models/")["Contents"]}
    assert f"models/{model_dir.name}/lookup.json" in keys
    assert "models/latest" not in keys, "a promotion moves no pointer"


def test_a_served_version_from_s3_is_pinned_to_its_version_and_leaves_no_download(
    s3: Any, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scorer follows rollouts for weeks: each version it fetches is read into memory and its files removed."""
    publish_to_s3(model_dir, f"s3://{BUCKET}/models/")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    model, ref = load_pinned(f"s3://{BUCKET}/models/")
    assert (model.version, ref.version) == (model_dir.name, model_dir.name)
    assert ref.uri == f"s3://{BUCKET}/models/{model_dir.name}/", "the version `latest` named, not the root"
    assert ref.manifest_sha256 == file_sha256(model_dir / MANIFEST_FILE)
    assert load_ref(ref).version == model_dir.name
    assert list(temporary.iterdir()) == [], "the downloads are gone once read"
