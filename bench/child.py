"""What every contender process shares: arguments, a stop flag set by SIGTERM, and the client base config."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--mode", choices=["eos", "alo"], required=True)
    parser.add_argument("--models", default="models")
    parser.add_argument("--batch-size", type=int, default=500)
    return parser.parse_args()


def stop_flag() -> threading.Event:
    """Set on SIGTERM/SIGINT; the loop finishes its batch and exits."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def base_config(bootstrap: str) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, "client.id": "bench"}
