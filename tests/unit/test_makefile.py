"""`make run` and `make test` stop first and name what to install when a command they need is missing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make") or "/usr/bin/make"


def _make(target: str, present: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run `make <target>` with only `present` on the PATH (shell builtins do the checking)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in present:
        found = shutil.which(name)
        assert found, f"{name} is needed to run this test"
        (bin_dir / name).symlink_to(found)
    return subprocess.run(
        [MAKE, "-s", target], cwd=ROOT, env={"PATH": str(bin_dir)}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("target", "present", "named"),
    [
        ("need-test", ["python3", "java", "mvn", "cargo"], "make test needs: golang-go nodejs chromium"),
        ("need-test", ["python3", "java", "mvn", "cargo", "go", "node"], "make test needs: chromium"),
        ("need-run", ["python3", "java", "cargo"], "make run needs: maven"),
        ("need-run", ["python3", "java", "mvn"], "make run needs: cargo"),
    ],
)
def test_a_missing_command_is_named_with_its_package(
    target: str, present: list[str], named: str, tmp_path: Path
) -> None:
    result = _make(target, present, tmp_path)
    assert result.returncode != 0
    assert named in result.stderr
    assert "apt-get install" in result.stderr


def test_nothing_is_said_when_everything_is_there(tmp_path: Path) -> None:
    result = _make("need-test", ["python3", "java", "mvn", "cargo", "go", "node", "chromium"], tmp_path)
    assert (result.returncode, result.stderr) == (0, "")


def test_the_readme_runs_ci_as_ci_does() -> None:
    """A fresh clone beside `shared/`, without the terminal's width variables and with nothing on stdin."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = next(line for line in readme.splitlines() if "bash .ci/run" in line and line.startswith("d=$(mktemp"))
    assert 'ln -s "$(cd ../shared && pwd)" "$d/shared"' in command
    assert "git clone -q . " in command
    assert "env -u COLUMNS -u LINES CI=true bash .ci/run </dev/null" in command
