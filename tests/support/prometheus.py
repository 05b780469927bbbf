"""A real Prometheus server, built into the virtualenv by `make tools`, scraping processes of this machine."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, start_http_server

from local_stack.broker import free_port
from tests.support.polling import wait_until

PROMETHEUS = Path(sys.executable).parent / "prometheus"
OBSERVABILITY = Path(__file__).resolve().parents[2] / "monitor" / "observability"
RULES = OBSERVABILITY / "alerts.yml"
DASHBOARD = OBSERVABILITY / "dashboard.json"
# Scrapes and rule evaluations this often, so that a test sees an alert go pending within seconds; the rules
# themselves, and their `for:` durations, are the shipped ones.
INTERVAL = "1s"


def api(base_url: str, path: str) -> Any:
    """The `data` of an answer of a Prometheus server's HTTP API (`/api/v1/...`)."""
    with urllib.request.urlopen(f"{base_url}/api/v1/{path}", timeout=5) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return body["data"]


def alert_rule_names(rules: Path = RULES) -> set[str]:
    """The alerts the shipped rules file defines."""
    return {rule["alert"] for group in yaml.safe_load(rules.read_text())["groups"] for rule in group["rules"]}


def dashboard_expressions(dashboard: Path = DASHBOARD) -> list[tuple[str, str]]:
    """Each query of the shipped dashboard, with its panel's title."""
    panels = json.loads(dashboard.read_text())["panels"]
    return [(panel["title"], target["expr"]) for panel in panels for target in panel["targets"]]


def configuration(targets: Mapping[str, Sequence[int]], rules: Path = RULES) -> str:
    """A Prometheus configuration: one static job per name, each a list of loopback ports, and the rules."""
    jobs = [
        {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}" for port in ports]}]}
        for job, ports in targets.items()
    ]
    document = {
        "global": {"scrape_interval": INTERVAL, "evaluation_interval": INTERVAL},
        "rule_files": [str(rules)],
        "scrape_configs": jobs,
    }
    return json.dumps(document, indent=2)  # YAML is a superset of JSON


class PrometheusServer:
    """`prometheus` on a free loopback port with its own storage; read through its HTTP API."""

    def __init__(self, config: Path, workdir: Path) -> None:
        self.port = free_port()
        self.log_path = workdir / "prometheus.log"
        self._command = [
            str(PROMETHEUS),
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60) -> PrometheusServer:
        if not PROMETHEUS.is_file():
            pytest.fail(f"no {PROMETHEUS}: `make tools` builds it from the Go module proxy")
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(self._command, stdout=log, stderr=subprocess.STDOUT)
        self.wait_for(lambda: self._answers("/-/ready"), timeout_s, "Prometheus ready")
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def _answers(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def api(self, path: str) -> Any:
        return api(f"http://127.0.0.1:{self.port}", path)

    def query(self, expr: str) -> Any:
        """An instant query's answer; fails with Prometheus's own error when it refuses the expression."""
        try:
            return self.api(f"query?query={urllib.parse.quote(expr)}")
        except urllib.error.HTTPError as refused:
            pytest.fail(f"Prometheus refused {expr!r}: {refused.read().decode(errors='replace')}")

    def alerts(self, name: str) -> list[dict[str, Any]]:
        """The active alerts (pending or firing) of one rule."""
        return [alert for alert in self.api("alerts")["alerts"] if alert["labels"]["alertname"] == name]

    def states(self, name: str) -> set[str]:
        return {alert["state"] for alert in self.alerts(name)}

    def wait_for(self, condition: Callable[[], bool], timeout_s: float, what: str) -> float:
        """Poll `condition` until true; return the seconds it took. Fails with the server's log tail, at once if
        the server exits."""

        def holds() -> bool:
            if self._process is not None and self._process.poll() is not None:
                pytest.fail(f"Prometheus exited:\n{self.log_tail()}")
            return condition()

        return wait_until(what, holds, timeout_s, every_s=0.5, seen=self.log_tail)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def exposed(registry: CollectorRegistry) -> Iterator[int]:
    """A registry's metrics served on a free loopback port (its number), as a service exposes them."""
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def prometheus(targets: Mapping[str, Sequence[int]], workdir: Path) -> Iterator[PrometheusServer]:
    config = workdir / "prometheus.yml"
    config.write_text(configuration(targets))
    server = PrometheusServer(config, workdir)
    try:
        yield server.start()
    finally:
        server.stop()
