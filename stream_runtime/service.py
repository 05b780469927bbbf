"""How a long-running service process starts and ends: settings read with a one-line error (exit 2), JSON logs,
SIGTERM and SIGINT turned into a drain with a watchdog, and failures turned into their exit codes."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Protocol, TypeVar

from confluent_kafka import KafkaException
from pydantic_settings import BaseSettings

from stream_runtime.exits import ExitCode, ServiceExit
from stream_runtime.logs import configure_json_logging
from stream_runtime.settings import KafkaSettings, SettingsError, read_settings

S = TypeVar("S", bound=BaseSettings)


class Service(Protocol):
    def request_stop(self) -> None: ...

    def run(self) -> int: ...


def settings_or_exit(kind: type[S], log: logging.Logger) -> S:
    """`kind` from the environment; a bad value is one logged line naming its variable, and exit 2."""
    try:
        return read_settings(kind)
    except SettingsError as exc:
        if not logging.getLogger().handlers:
            configure_json_logging()
        log.error("invalid configuration: %s", exc)
        raise SystemExit(ExitCode.CONFIG) from None


def service_settings(kind: type[S], log: logging.Logger) -> tuple[S, KafkaSettings]:
    """The service's settings and the broker's, logging set up at the service's level; exit 2 when one is wrong
    or no broker is named."""
    configure_json_logging()
    settings, kafka = settings_or_exit(kind, log), settings_or_exit(KafkaSettings, log)
    configure_json_logging(str(getattr(settings, "log_level", "INFO")))
    if not kafka.bootstrap_servers:
        log.error("KAFKA_BOOTSTRAP_SERVERS is not set")
        raise SystemExit(ExitCode.CONFIG)
    return settings, kafka


def run_service(service: Service, shutdown_timeout_s: float, log: logging.Logger) -> int:
    """Run until SIGTERM or SIGINT asks for a drain; a drain longer than `shutdown_timeout_s` exits 4."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: draining", signal.Signals(signum).name)
        service.request_stop()
        watchdog = threading.Timer(shutdown_timeout_s, _give_up, args=(shutdown_timeout_s, log))
        watchdog.daemon = True
        watchdog.start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return service.run()


def _give_up(timeout_s: float, log: logging.Logger) -> None:
    log.error("shutdown took longer than %.0f s; exiting without a clean close", timeout_s)
    logging.shutdown()
    os._exit(ExitCode.SHUTDOWN_TIMEOUT)


def exit_code_of(body: Callable[[], None], log: logging.Logger) -> ExitCode:
    """Run `body`; a `ServiceExit` or a Kafka error that reaches here ends the process with one logged line."""
    try:
        body()
    except ServiceExit as exc:
        log.error("%s (exit %d)", exc.message, exc.code)
        return exc.code
    except KafkaException as exc:
        log.error("fatal Kafka error (exit %d): %s", ExitCode.FATAL, exc.args[0].str())
        return ExitCode.FATAL
    return ExitCode.OK
