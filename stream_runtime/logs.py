"""Structured JSON logs, one object a line, for CloudWatch and friends."""

from __future__ import annotations

import logging
import re
import sys
import time

from pythonjsonlogger.json import JsonFormatter

_NUMBERS = re.compile(r"\d+")


class RepeatFilter(logging.Filter):
    """Lets a warning or error through once per `window_s`, then counts its repeats into the next that passes.

    A broker that is away makes librdkafka report the same connection failure many times a second (as errors
    and as warnings); one line every few seconds says as much. Messages that differ only in numbers (timings,
    counts) are the same here. Informational lines are never held back.
    """

    def __init__(self, window_s: float = 5.0) -> None:
        super().__init__()
        self.window_s = window_s
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, _NUMBERS.sub("#", record.getMessage()))
        now = time.monotonic()
        passed_at, suppressed = self._last.get(key, (float("-inf"), 0))
        if now - passed_at < self.window_s:
            self._last[key] = (passed_at, suppressed + 1)
            return False
        if len(self._last) > 1_000:
            self._last.clear()
        self._last[key] = (now, 0)
        if suppressed:
            record.repeated = suppressed  # shown as a field: how many like it were left out since the last one
        return True


def configure_json_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level", "asctime": "time"}
        )
    )
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
