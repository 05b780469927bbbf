"""Prometheus's promtool, built into the virtualenv by `make tools`, for the tests that check rules and metrics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROMTOOL = Path(sys.executable).parent / "promtool"


def promtool(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    if not PROMTOOL.is_file():
        pytest.fail(f"no {PROMTOOL}: `make tools` builds it from the Go module proxy")
    return subprocess.run([str(PROMTOOL), *args], cwd=cwd, input=stdin, capture_output=True, timeout=300)
