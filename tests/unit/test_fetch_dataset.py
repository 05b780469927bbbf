"""The dataset step: copy or download, always sha256-checked, clear failures that write nothing."""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_step() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_dataset", ROOT / "data" / "fetch_dataset.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fetch = _load_step()
CONTENT = b"Fecha-I,Vlo-I\n2017-01-01 23:30:00,226\n"  # synthetic, not the real dataset
SHA = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    served = tmp_path / "served"
    served.mkdir()
    (served / "dataset_SCL.csv").write_bytes(CONTENT)
    (served / "wrong.csv").write_bytes(CONTENT + b"tampered\n")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(served), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_copies_from_shared_and_verifies(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "dataset_SCL.csv").write_bytes(CONTENT)
    target = tmp_path / "data" / "dataset_SCL.csv"
    message = fetch.fetch_dataset(target, shared, "http://127.0.0.1:9/unused", SHA)
    assert message.startswith("copied")
    assert target.read_bytes() == CONTENT
    assert target.stat().st_mode & 0o777 == 0o644, "readable by the image's own user through a bind mount"
    target.chmod(0o600)
    assert "already in place" in fetch.fetch_dataset(target, shared, "http://127.0.0.1:9/unused", SHA)
    assert target.stat().st_mode & 0o777 == 0o644, "a copy from before is made readable too"


def test_refuses_a_shared_copy_with_the_wrong_hash(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "dataset_SCL.csv").write_bytes(CONTENT + b"extra row\n")
    target = tmp_path / "data" / "dataset_SCL.csv"
    with pytest.raises(fetch.DatasetError, match="expected " + SHA):
        fetch.fetch_dataset(target, shared, "http://127.0.0.1:9/unused", SHA)
    assert not target.exists()
    assert list(target.parent.iterdir()) == [], "a partial file was left behind"


def test_downloads_when_shared_is_absent(tmp_path: Path, http_server: str) -> None:
    target = tmp_path / "dataset_SCL.csv"
    message = fetch.fetch_dataset(target, tmp_path / "nowhere", f"{http_server}/dataset_SCL.csv", SHA)
    assert message.startswith("downloaded")
    assert target.read_bytes() == CONTENT


def test_refuses_a_download_with_the_wrong_hash(tmp_path: Path, http_server: str) -> None:
    target = tmp_path / "dataset_SCL.csv"
    with pytest.raises(fetch.DatasetError, match="sha256"):
        fetch.fetch_dataset(target, tmp_path / "nowhere", f"{http_server}/wrong.csv", SHA)
    assert not target.exists()


def test_unreachable_source_says_what_to_do(tmp_path: Path, http_server: str) -> None:
    target = tmp_path / "dataset_SCL.csv"
    with pytest.raises(fetch.DatasetError, match="by hand"):
        fetch.fetch_dataset(target, tmp_path / "nowhere", f"{http_server}/missing.csv", SHA)


def test_cli_exit_code_on_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = fetch.main(
        [
            "--target",
            str(tmp_path / "x.csv"),
            "--shared-dir",
            str(tmp_path),
            "--url",
            "http://127.0.0.1:9/nothing-listens-here",
        ]
    )
    assert code == 1
    assert "error:" in capsys.readouterr().err


def test_the_real_dataset_is_in_place_and_verified() -> None:
    """`make test` runs the data step first, so the published file must be there, hash-checked."""
    target = ROOT / "data" / "dataset_SCL.csv"
    assert fetch.sha256_of(target) == fetch.DATASET_SHA256
