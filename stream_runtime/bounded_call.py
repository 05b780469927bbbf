"""Give a blocking librdkafka call a deadline it cannot overrun.

`send_offsets_to_transaction()` can block past its own timeout, for good, when the group coordinator goes away
mid-call (librdkafka issues #5456 and #5511, open in 2.16). A C call cannot be interrupted from Python, so the
call runs in a daemon thread and the caller stops waiting at the deadline. The caller must then abandon the
client (the stuck thread keeps it referenced, so it is never destroyed under the caller's feet).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from confluent_kafka import KafkaError, KafkaException

T = TypeVar("T")
_abandoned: list[threading.Thread] = []  # calls the caller stopped waiting for
_abandoned_lock = threading.Lock()


def still_blocked() -> int:
    """Abandoned calls whose threads are still blocked: each holds an abandoned client (its threads and sockets),
    which only the end of the process frees."""
    with _abandoned_lock:
        _abandoned[:] = [thread for thread in _abandoned if thread.is_alive()]
        return len(_abandoned)


def call_within(call: Callable[[], T], deadline_s: float, what: str) -> T:
    """Return `call()`'s result, re-raise its exception, or raise a retriable `_TIMED_OUT` at the deadline."""
    outcome: list[T] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=run, name=what, daemon=True)
    thread.start()
    if not done.wait(deadline_s):
        with _abandoned_lock:
            _abandoned.append(thread)
        reason = f"{what} still blocked after {deadline_s:.0f} s (past its own timeout); abandoning this client"
        raise KafkaException(KafkaError(KafkaError._TIMED_OUT, reason, retriable=True))
    if failure:
        raise failure[0]
    return outcome[0]
