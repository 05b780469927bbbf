"""HTTP `/healthz` (alive), `/readyz` (the service's own conditions, partitions, broker), `/metrics` (Prometheus),
and POST routes (the scorer's `/predict`) with a bounded body."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from stream_runtime.exits import ExitCode, ServiceExit

log = logging.getLogger("stream_runtime")


class HealthState:
    """What the endpoints report; written by the processing loop.

    Broker state arrives through librdkafka callbacks, which only the processing loop serves: a loop blocked in
    a Kafka call (the broker went away mid-transaction) would leave the last report standing. So a report
    older than `broker_stale_after_s` counts as "not known to be reachable".
    """

    def __init__(
        self, conditions: Sequence[str] = (), stall_after_s: float = 60.0, broker_stale_after_s: float = 6.0
    ) -> None:
        self.conditions = dict.fromkeys(conditions, False)  # the service's own, such as "model_loaded"
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
            **self.conditions,
            "partitions_assigned": self.assigned_partitions > 0,
            "broker_reachable": self.broker_reachable(),
        }


Answer = tuple[int, str, bytes]


def error_answer(status: int, error: str, **details: Any) -> Answer:
    """Every error a route answers has one JSON shape, `{"status", "error"}` plus what the route adds (a 422's
    `events`), so a client parses a refusal the same way whichever layer refused it."""
    return status, "application/json", orjson.dumps({"status": status, "error": error, **details})


def start_health_server(
    port: int,
    state: HealthState,
    registry: CollectorRegistry,
    post_routes: Mapping[str, Callable[[bytes], Answer]] | None = None,
    max_body_bytes: int = 1024 * 1024,
    port_variable: str = "the HTTP port",
) -> ThreadingHTTPServer:
    """Serve on 0.0.0.0:`port` (0 picks a free one) in a daemon thread; a taken port is a configuration error
    that names the variable it came from (`port_variable`)."""
    posts = dict(post_routes or {})
    routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
        "/healthz": lambda: (200 if state.alive() else 503, "text/plain", b"ok" if state.alive() else b"stalled"),
        "/readyz": lambda: _ready(state),
        "/metrics": lambda: (200, CONTENT_TYPE_LATEST, generate_latest(registry)),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            route = routes.get(path)
            if route is not None:
                self._answer(*route())
            elif path in posts:
                self._answer(*error_answer(405, f"{path} takes POST"), allow="POST")
            else:
                self._answer(*error_answer(404, f"no route {path}"))

        def do_POST(self) -> None:
            path = self.path.split("?")[0]
            route = posts.get(path)
            length = self.headers.get("Content-Length")
            if route is None:
                self._answer(*error_answer(404, f"no route {path}"))
            elif length is None or not length.isdigit():
                self.close_connection = True  # without a length the body's end is unknown
                self._answer(*error_answer(411, "a Content-Length header is required"))
            elif int(length) > max_body_bytes:
                self.close_connection = True  # the body is never read
                self._answer(
                    *error_answer(413, f"the body has {int(length)} bytes; at most {max_body_bytes} are accepted")
                )
            else:
                try:
                    answer = route(self.rfile.read(int(length)))
                except Exception:  # a bug in a route must answer, not drop the connection
                    log.exception("%s failed", self.path)
                    answer = error_answer(500, "internal error; see the service's log")
                self._answer(*answer)

        def _answer(self, status: int, content_type: str, body: bytes, allow: str | None = None) -> None:
            self.send_response(status)
            if allow is not None:
                self.send_header("Allow", allow)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # probes every few seconds would flood the log
            pass

    try:
        server = ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104  (a container's probe port)
    except OSError as exc:
        raise ServiceExit(
            ExitCode.CONFIG,
            f"cannot serve health and metrics on port {port} ({port_variable}): {exc.strerror}; give each process "
            "on a host its own port, or 0 for any free one",
        ) from None
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server


def _ready(state: HealthState) -> tuple[int, str, bytes]:
    checks = state.readiness()
    return (200 if all(checks.values()) else 503), "application/json", orjson.dumps(checks)
