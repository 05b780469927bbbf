"""Ctrl-C as a request the command's loop reads, never an exception thrown into a librdkafka call.

Python raises KeyboardInterrupt wherever the main thread is; inside `poll()` or a delivery callback that
surfaces as `SystemError: ... returned NULL`, and the queued events are neither flushed nor counted. So while a
command runs, the first SIGINT or SIGTERM only sets a flag: the loop stops at its next step, delivers what it
already produced within a short bound and reports. A second one cuts that bound short.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_INTERRUPTED = 130  # the shell's code for a command ended by SIGINT
FLUSH_AFTER_INTERRUPT_S = 5.0  # how long an interrupted command still waits for the broker's acknowledgements


class StopRequestedError(Exception):
    """Raised at a safe point of a long command once a stop was requested."""


class StopRequest:
    """Set by SIGINT or SIGTERM; `insistent` after the second."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signals = 0
        self._raising = False

    def is_set(self) -> bool:
        return self._event.is_set()

    @property
    def insistent(self) -> bool:
        return self.signals > 1

    def set(self) -> None:
        self.signals += 1
        self._event.set()

    def raise_if_set(self) -> None:
        if self._event.is_set():
            raise StopRequestedError

    @contextmanager
    def raising(self) -> Iterator[None]:
        """Inside, a stop raises at once: for work that makes no librdkafka call on this thread (training)."""
        self.raise_if_set()
        self._raising = True
        try:
            yield
        finally:
            self._raising = False

    def _handle(self, _signum: int, _frame: FrameType | None) -> None:
        self.set()
        if self._raising:
            self._raising = False  # raised once; the unwinding code may itself be stopped again only by a flag
            raise StopRequestedError


@contextmanager
def stop_on_interrupt() -> Iterator[StopRequest]:
    """SIGINT and SIGTERM set the request while the block runs; the previous handlers come back after it."""
    request = StopRequest()
    previous = {number: signal.signal(number, request._handle) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
