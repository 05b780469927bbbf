"""Run scorer instances as child processes on this machine (for `make run` and the integration tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from local_stack.broker import free_port


class ScorerProcess:
    """One `python -m consumer` child with its own health port and log file."""

    def __init__(
        self,
        bootstrap_servers: str,
        model_uri: Path | str,
        log_path: Path,
        instance_id: str | None,
        env: dict[str, str] | None = None,
        module: str = "consumer",
    ) -> None:
        """`instance_id` None leaves the scorer its default (unique per process); `module` "monitor" runs a monitor."""
        self.port = free_port()
        self.module = module
        prefix = "MONITOR" if module == "monitor" else "SCORER"
        self.log_path = log_path
        self.instance_id = instance_id or log_path.stem
        self.env = {
            **{name: value for name, value in os.environ.items() if name != "SCORER_INSTANCE_ID"},
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
            "MODEL_URI": str(model_uri),
            f"{prefix}_HTTP_PORT": str(self.port),
            **({f"{prefix}_INSTANCE_ID": instance_id} if instance_id else {}),
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ScorerProcess:
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module],
                env=self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self

    def get(self, path: str) -> tuple[int, bytes]:
        return self._request(urllib.request.Request(f"http://127.0.0.1:{self.port}{path}"))

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        url = f"http://127.0.0.1:{self.port}{path}"
        headers = {"Content-Type": "application/json"}
        return self._request(urllib.request.Request(url, data=body, headers=headers, method="POST"), timeout_s=30)

    def samples(self, name: str) -> list[Sample]:
        """Every sample named `name` (a counter's with its `_total`) on the process's /metrics, labels parsed."""
        text = self.get("/metrics")[1].decode()
        return [
            sample
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name
        ]

    def metric(self, selector: str) -> float:
        """The value of the sample `selector` names (`name{label="value",...}`, every label given, in any order);
        0 when absent. Parsed with the exposition parser, so that labels in another order than the exporter's
        still match instead of reading as an absent 0."""
        (wanted,) = next(iter(text_string_to_metric_families(selector + " 0\n"))).samples
        for sample in self.samples(wanted.name):
            if sample.labels == wanted.labels:
                return float(sample.value)
        return 0.0

    @staticmethod
    def _request(request: urllib.request.Request, timeout_s: float = 2) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310  (http://127.0.0.1 only)
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"scorer {self.instance_id} exited early:\n{self.log_tail()}")
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass  # not listening yet
            time.sleep(0.2)
        raise TimeoutError(f"scorer {self.instance_id} not ready after {timeout_s:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM and wait; returns the exit code (SIGKILL after `timeout_s`)."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
