"""A container health check that needs no curl in the image: exit 0 if the service on this host answers.

Without `--ready` it asks `/healthz` (the loop is alive): the ECS container health check, since ECS replaces an
unhealthy task and a service waiting out a broker outage must not be replaced for it. With `--ready` it asks
`/readyz` (its own checks, the broker's state among them): the image's HEALTHCHECK, so `docker ps` and compose
show healthy only once the service works, and unhealthy when the broker is gone. Each service passes the port it
serves on (`consumer.healthcheck`, `monitor.healthcheck`), read from the same variable as the service itself.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from typing import Protocol

from pydantic_settings import BaseSettings


def main(argv: list[str], port: int, command: str) -> int:
    if argv not in ([], ["--ready"]):
        print(f"usage: python -m {command} [--ready]", file=sys.stderr)
        return 2
    path = "/readyz" if argv else "/healthz"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {path} on port {port}: {exc}", file=sys.stderr)
        return 1


class Check(Protocol):
    def __call__(self, argv: list[str] | None = None) -> int: ...


def service_check(settings: type[BaseSettings], port_variable: str, command: str) -> Check:
    """The check of one service: its port from `port_variable`, else its settings' default, as the service reads it."""

    def check(argv: list[str] | None = None) -> int:
        port = int(os.environ.get(port_variable, settings.model_fields["http_port"].default))
        return main(sys.argv[1:] if argv is None else argv, port, command)

    return check
