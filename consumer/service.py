"""What the long-running commands (scorer, monitor) share: settings read with a one-line error, JSON logs, and
failures turned into their exit codes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import typer
from confluent_kafka import KafkaException
from pydantic_settings import BaseSettings

from consumer.exits import ExitCode, ScorerExit
from consumer.logs import configure_json_logging
from kafka_common.settings import KafkaSettings, SettingsError, TopicSettings, read_settings

S = TypeVar("S", bound=BaseSettings)


def service_settings(kind: type[S], log: logging.Logger) -> tuple[S, KafkaSettings, TopicSettings]:
    """The service's settings and the shared ones, logging set up at the service's level; exit 2 when one is
    wrong or no broker is named."""
    try:
        settings, kafka, topics = read_settings(kind), read_settings(KafkaSettings), read_settings(TopicSettings)
    except SettingsError as exc:
        configure_json_logging()
        log.error("invalid configuration: %s", exc)
        raise typer.Exit(ExitCode.CONFIG) from None
    configure_json_logging(str(getattr(settings, "log_level", "INFO")))
    if not kafka.bootstrap_servers:
        log.error("KAFKA_BOOTSTRAP_SERVERS is not set")
        raise typer.Exit(ExitCode.CONFIG)
    return settings, kafka, topics


def exit_code_of(body: Callable[[], None], log: logging.Logger) -> ExitCode:
    """Run `body`; a `ScorerExit` or a Kafka error that reaches here ends the process with one logged line."""
    try:
        body()
    except ScorerExit as exc:
        log.error("%s (exit %d)", exc.message, exc.code)
        return exc.code
    except KafkaException as exc:
        log.error("fatal Kafka error (exit %d): %s", ExitCode.FATAL, exc.args[0].str())
        return ExitCode.FATAL
    return ExitCode.OK
