#!/usr/bin/env python3
"""Put `data/dataset_SCL.csv` in place: copy it from ../shared/data, or download it from its public source.

Either way the sha256 is checked against the published one, so the model is always trained on the same bytes.
Standard library only, so it runs before the project's virtualenv exists.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

DATASET_NAME = "dataset_SCL.csv"
DATASET_SHA256 = "66d7334fbc9c2c070842e9a99d465f552f94a2b1d5c4047be825e5954e12e829"
# The public copy named in shared/data/SOURCE.md (blob 8a808a8d1114…, same bytes as the challenge's zip).
DATASET_URL = (
    "https://raw.githubusercontent.com/djcrotte/Challenge-Data-Scientist-Airline-Dataframe/"
    "bb3c0cb03cb8ef5072409eee332d6462cd6c9f95/dataset_SCL.csv"
)
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARGET = REPO_ROOT / "data" / DATASET_NAME
DEFAULT_SHARED = REPO_ROOT.parent / "shared" / "data"


class DatasetError(RuntimeError):
    """The dataset could not be put in place; the message says what to do."""


# A public dataset, and compose mounts it into containers that run as another user: readable by all, unlike
# the owner-only file a temporary file starts as.
PUBLIC_READ = 0o644


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _verified_move(candidate: Path, target: Path, expected_sha256: str, origin: str) -> None:
    actual = sha256_of(candidate)
    if actual != expected_sha256:
        candidate.unlink(missing_ok=True)
        raise DatasetError(
            f"{origin} has sha256 {actual}, expected {expected_sha256}: it is not the published "
            f"{DATASET_NAME}; nothing was written to {target}"
        )
    candidate.chmod(PUBLIC_READ)
    os.replace(candidate, target)


def _download(url: str, destination: Path) -> None:
    with urllib.request.urlopen(url, timeout=60) as response, destination.open("wb") as out:  # noqa: S310
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        for chunk in iter(lambda: response.read(1 << 16), b""):
            out.write(chunk)
            done += len(chunk)
            if total:
                print(f"\r  {done / 1e6:6.1f} / {total / 1e6:.1f} MB", end="", file=sys.stderr)
        print(file=sys.stderr)


def fetch_dataset(
    target: Path = DEFAULT_TARGET,
    shared_dir: Path = DEFAULT_SHARED,
    url: str = DATASET_URL,
    expected_sha256: str = DATASET_SHA256,
) -> str:
    """Ensure `target` holds the verified dataset; return how it got there."""
    if target.exists() and sha256_of(target) == expected_sha256:
        target.chmod(PUBLIC_READ)
        return f"{target} already in place (sha256 verified)"
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".dataset-", suffix=".part")
    os.close(handle)
    temp = Path(temp_name)
    try:
        shared = shared_dir / DATASET_NAME
        if shared.is_file():
            shutil.copyfile(shared, temp)
            _verified_move(temp, target, expected_sha256, str(shared))
            return f"copied {shared} -> {target} (sha256 verified)"
        print(f"{shared} not found; downloading {url}", file=sys.stderr)
        try:
            _download(url, temp)
        except OSError as exc:
            raise DatasetError(
                f"could not download {url}: {exc}. Put {DATASET_NAME} in {shared_dir} or {target.parent} "
                "by hand and run this again."
            ) from exc
        _verified_move(temp, target, expected_sha256, url)
        return f"downloaded {url} -> {target} (sha256 verified)"
    finally:
        temp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", type=Path, default=DEFAULT_TARGET)
    shared_default = Path(os.environ.get("DATASET_SHARED_DIR", DEFAULT_SHARED))
    parser.add_argument("--shared-dir", type=Path, default=shared_default)
    parser.add_argument("--url", default=os.environ.get("DATASET_URL", DATASET_URL))
    args = parser.parse_args(argv)
    try:
        print(fetch_dataset(args.target, args.shared_dir, args.url))
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
