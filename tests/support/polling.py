"""Waiting in tests: poll a condition until it holds, or fail saying what was awaited and what was seen, so a
slow machine fails with the facts rather than a bare timeout."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    what: str,
    condition: Callable[[], bool],
    timeout_s: float,
    every_s: float = 0.25,
    seen: Callable[[], str] | None = None,
) -> float:
    """Poll `condition` every `every_s` until it holds; the seconds it took. After `timeout_s` fail with `what`
    and, when given, `seen()` (a log's tail, the figures reached)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            detail = f"\n{seen()}" if seen is not None else ""
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s{detail}")
        time.sleep(every_s)
    return time.monotonic() - started
