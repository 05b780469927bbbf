"""Waiting for a broker that does not answer yet, in turns, so that the client's own reports are heard meanwhile."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from confluent_kafka import KafkaException


class MetadataClient(Protocol):
    """What a consumer and an admin client both offer: the cluster's metadata, and serving their callbacks."""

    def list_topics(self, *args: Any, **kwargs: Any) -> Any: ...

    def poll(self, *args: Any, **kwargs: Any) -> Any: ...


def await_broker(
    client: MetadataClient,
    timeout_s: float,
    turn_s: float,
    waiting: Callable[[], None],
    carry_on: Callable[[], bool] = lambda: True,
) -> KafkaException | None:
    """Ask for the cluster's metadata in turns of `turn_s` until the broker answers (None), `timeout_s` has passed
    or `carry_on()` is false (then the last turn's error).

    A client reports why it cannot connect (a refused connection, a name that does not resolve: its log lines and
    error callback) only when it is served, and a blocking metadata call serves nothing: asked once with the whole
    timeout, it says nothing for all of it. So the client is served after each failed turn; then `carry_on` may
    look at what it reported (and raise), and `waiting` is called once, to say what the caller does about it."""
    deadline = time.monotonic() + timeout_s
    said = False
    while True:
        try:
            client.list_topics(timeout=max(min(turn_s, deadline - time.monotonic()), 0.01))
            return None
        except KafkaException as exc:
            error = exc
        client.poll(0)
        if not carry_on() or time.monotonic() >= deadline:
            return error
        if not said:
            waiting()
            said = True
