"""How a service process ends: one exit code per meaning, and the exception that carries it to the loop."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The services' exit codes; the README's table and the orchestrator's restart policy rely on them."""

    OK = 0
    FATAL = 1  # the Kafka client cannot continue (fenced by a live twin, an unfixable produce error)
    CONFIG = 2  # configuration, credentials, TLS or the model are wrong: restarting will not help
    INVALID_RATIO = 3  # failing closed on too much invalid input
    SHUTDOWN_TIMEOUT = 4  # draining after SIGTERM took longer than allowed


class ServiceExit(Exception):  # noqa: N818  (an exit, not an error: some exits are clean)
    """Stop the loop and leave with `code`; `message` is the one line logged for it."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
