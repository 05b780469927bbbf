"""The ports a reader meets (service defaults, the README's examples, compose's published ports) never collide:
a documented second scorer must not take the monitor's port."""

from __future__ import annotations

import re
from collections import defaultdict

import yaml

from consumer.settings import ScorerSettings
from monitor.settings import MonitorSettings
from tests.support.packages import ROOT

DOCUMENTS = ("README.md", "docs/deploy.md", "docs/monitoring.md")


def documented_ports() -> dict[int, set[str]]:
    """Each port and who takes it: a service's default, an example's assignment, a published compose port."""
    owners: dict[int, set[str]] = defaultdict(set)
    owners[ScorerSettings.model_fields["http_port"].default].add("the scorer's default")
    owners[MonitorSettings.model_fields["http_port"].default].add("the monitor's default")
    for name in DOCUMENTS:
        path = ROOT / name
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for port in re.findall(r"\b[A-Z_]+_PORT=(\d+)\b", line):
                owners[int(port)].add(f"{name}:{number}")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    for service, spec in compose["services"].items():
        for mapping in spec.get("ports", []):
            owners[int(str(mapping).split(":")[-2])].add(f"compose {service}")
    return owners


def test_no_two_documented_processes_share_a_port() -> None:
    ports = documented_ports()
    assert {8080, 8081} <= set(ports) and len(ports) >= 5, ports  # the collection itself found them
    assert {port: owners for port, owners in ports.items() if len(owners) > 1} == {}
