"""HTTP `/healthz` (alive), `/readyz` (model, partitions, broker) and `/metrics` (Prometheus)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from consumer.exits import ExitCode, ScorerExit


class HealthState:
    """What the endpoints report; written by the processing loop.

    Broker state arrives through librdkafka callbacks, which only the processing loop serves: a loop blocked in
    a Kafka call (the broker went away mid-transaction) would leave the last report standing. So a report
    older than `broker_stale_after_s` counts as "not known to be reachable".
    """

    def __init__(self, stall_after_s: float = 60.0, broker_stale_after_s: float = 6.0) -> None:
        self.model_loaded = False
        self.assigned_partitions = 0
        self.broker_up = False
        self.broker_reported_at = time.monotonic()
        self.broker_stale_after_s = broker_stale_after_s
        self.last_loop = time.monotonic()
        self.stall_after_s = stall_after_s

    def report_broker(self, up: bool) -> None:
        self.broker_up = up
        self.broker_reported_at = time.monotonic()

    def broker_reachable(self) -> bool:
        return self.broker_up and time.monotonic() - self.broker_reported_at < self.broker_stale_after_s

    def alive(self) -> bool:
        return time.monotonic() - self.last_loop < self.stall_after_s

    def readiness(self) -> dict[str, bool]:
        return {
            "model_loaded": self.model_loaded,
            "partitions_assigned": self.assigned_partitions > 0,
            "broker_reachable": self.broker_reachable(),
        }


def start_health_server(port: int, state: HealthState, registry: CollectorRegistry) -> ThreadingHTTPServer:
    """Serve on 0.0.0.0:`port` (0 picks a free one) in a daemon thread; a taken port is a configuration error."""
    routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
        "/healthz": lambda: (200 if state.alive() else 503, "text/plain", b"ok" if state.alive() else b"stalled"),
        "/readyz": lambda: _ready(state),
        "/metrics": lambda: (200, CONTENT_TYPE_LATEST, generate_latest(registry)),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = routes.get(self.path.split("?")[0])
            status, content_type, body = route() if route else (404, "text/plain", b"not found")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # probes every few seconds would flood the log
            pass

    try:
        server = ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104  (a container's probe port)
    except OSError as exc:
        raise ScorerExit(
            ExitCode.CONFIG,
            f"cannot serve health and metrics on port {port} (SCORER_HTTP_PORT): {exc.strerror}; give each scorer "
            "on a host its own port, or 0 for any free one",
        ) from None
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server


def _ready(state: HealthState) -> tuple[int, str, bytes]:
    checks = state.readiness()
    return (200 if all(checks.values()) else 503), "application/json", orjson.dumps(checks)
