"""The project's image, built from its Dockerfile: who it runs as, on what file system, and which commands."""

from __future__ import annotations

import errno
import json
import subprocess

import pytest

from tests.support.docker_stack import docker

pytestmark = pytest.mark.docker

WRITE_PROBE = """
import os, pathlib
print(os.getuid(), os.getgid())
for folder in ("/", "/opt/venv", "/home/app", "/models", "/tmp"):
    try:
        pathlib.Path(folder, "probe").touch()
        print(folder, "written")
    except OSError as exc:
        print(folder, exc.errno)
"""


def run_locked_down(image: str, *command: str) -> subprocess.CompletedProcess[str]:
    """As compose and ECS run it: read-only root, memory-backed /tmp, no capabilities."""
    return docker("run", "--rm", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", image, *command, check=False)


def test_runs_as_its_non_root_user_on_a_read_only_root(project_image: str) -> None:
    config = json.loads(docker("image", "inspect", project_image).stdout)[0]["Config"]
    assert config["User"] == "10001:10001"
    done = run_locked_down(project_image, "python", "-c", WRITE_PROBE)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "10001 10001"
    refused = {folder: verdict for folder, verdict in (line.rsplit(" ", 1) for line in lines[1:])}
    assert refused == {
        "/": str(errno.EROFS),
        "/opt/venv": str(errno.EROFS),
        "/home/app": str(errno.EROFS),
        "/models": str(errno.EROFS),
        "/tmp": "written",
    }


def test_every_command_and_the_compiled_lane_run_from_the_one_image(project_image: str) -> None:
    for command in (
        ["training", "fit", "--help"],
        ["flightdelay-producer", "replay", "--help"],
        ["flightdelay-kafka", "topics", "--help"],
        ["flightdelay-monitor", "report", "--help"],
        ["flightdelay-scorer", "--help"],
    ):
        done = run_locked_down(project_image, *command)
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
    lane = run_locked_down(
        project_image, "python", "-c", "from consumer import native_lane; print(native_lane.available())"
    )
    assert lane.stdout.strip() == "True", lane.stderr


def test_the_health_check_asks_for_readiness(project_image: str) -> None:
    config = json.loads(docker("image", "inspect", project_image).stdout)[0]["Config"]
    assert config["Healthcheck"]["Test"] == ["CMD", "python", "-m", "consumer.healthcheck", "--ready"]
