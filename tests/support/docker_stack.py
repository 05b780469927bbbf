"""Drive docker-compose.yml as users do (`docker compose ...` from the project directory), with the stand-in
images passed as variables, and read what the containers report: state, health, logs, published ports."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.support.docker_images import ROOT, StandIns

PROJECT_LABEL = "com.docker.compose.project"


def docker(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return done


@dataclass
class ComposeStack:
    """One compose project of docker-compose.yml under a name of its own, so it cannot touch a user's stack."""

    image: str
    standins: StandIns
    name: str = field(default_factory=lambda: f"fdtest{uuid.uuid4().hex[:6]}")

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.standins.environment(),
            "FLIGHTDELAY_IMAGE": self.image,
            "COMPOSE_PROJECT_NAME": self.name,
        }

    def compose(self, *args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["docker", "compose", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=self.environment(),
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            logs = self.compose("logs", "--no-color", "--tail", "30", check=False).stdout if args[0] != "logs" else ""
            raise AssertionError(
                f"docker compose {' '.join(args)} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}\n"
                f"the stack's logs (last 30 lines each):\n{logs}"
            )
        return done

    def containers(self, service: str | None = None) -> list[dict[str, Any]]:
        """`docker inspect` of the project's containers (running or not), by name."""
        filters = ["--filter", f"label={PROJECT_LABEL}={self.name}"]
        if service:
            filters += ["--filter", f"label=com.docker.compose.service={service}"]
        ids = docker("ps", "-a", "-q", *filters).stdout.split()
        if not ids:
            return []
        inspected: list[dict[str, Any]] = json.loads(docker("inspect", *ids).stdout)
        return sorted(inspected, key=lambda c: c["Name"])

    def health(self, service: str) -> list[str]:
        return [
            c["State"].get("Health", {}).get("Status", "none")
            for c in self.containers(service)
            if c["State"]["Running"]
        ]

    def exit_codes(self, service: str) -> list[int | None]:
        return [None if c["State"]["Running"] else c["State"]["ExitCode"] for c in self.containers(service)]

    def logs(self, service: str) -> list[dict[str, Any]]:
        """The service's JSON log records (other lines skipped)."""
        records = []
        for line in self.compose("logs", "--no-log-prefix", "--no-color", service).stdout.splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return records

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, networks and volumes still labelled with this project."""
        label = f"label={PROJECT_LABEL}={self.name}"
        return {
            "containers": docker("ps", "-a", "-q", "--filter", label).stdout.split(),
            "networks": docker("network", "ls", "-q", "--filter", label).stdout.split(),
            "volumes": docker("volume", "ls", "-q", "--filter", label).stdout.split(),
        }
