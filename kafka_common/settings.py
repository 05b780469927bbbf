"""Connection and topic settings, read from the environment so every process is configured the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN", "OAUTHBEARER"]


class KafkaSettings(BaseSettings):
    """How to reach the broker; an empty `KAFKA_BOOTSTRAP_SERVERS` means "start a local one"."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = Field(default="", description="host:port list; empty = local broker")
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = Field(default=None, description="PEM file of the CA that signed the broker")
    client_id: str = "flightdelay"
    aws_region: str | None = Field(default=None, description="MSK IAM: region used to sign the OAUTHBEARER token")

    def client_config(self, bootstrap_servers: str | None = None) -> dict[str, Any]:
        """librdkafka configuration common to producers, consumers and admin clients."""
        servers = bootstrap_servers or self.bootstrap_servers
        if not servers:
            raise ValueError("KAFKA_BOOTSTRAP_SERVERS is not set and no broker address was given")
        config: dict[str, Any] = {
            "bootstrap.servers": servers,
            "security.protocol": self.security_protocol,
            "client.id": self.client_id,
        }
        if self.sasl_mechanism:
            config["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            config["sasl.username"] = self.sasl_username
        if self.sasl_password:
            config["sasl.password"] = self.sasl_password.get_secret_value()
        if self.ssl_ca_location:
            config["ssl.ca.location"] = self.ssl_ca_location
        if self.sasl_mechanism == "OAUTHBEARER":
            if not self.aws_region:
                raise ValueError("KAFKA_SASL_MECHANISM=OAUTHBEARER (MSK IAM) needs KAFKA_AWS_REGION")
            config["oauth_cb"] = msk_iam_token_callback(self.aws_region)
        return config


def msk_iam_token_callback(region: str) -> Callable[[Any], tuple[str, float]]:
    """librdkafka `oauth_cb` for MSK IAM: a SigV4-signed token from the default AWS credential chain."""

    def token(_oauth_config: Any) -> tuple[str, float]:
        from aws_msk_iam_sasl_signer import MSKAuthTokenProvider  # lazy: pulls in boto3

        auth_token, expiry_ms = MSKAuthTokenProvider.generate_auth_token(region)
        return auth_token, expiry_ms / 1000  # librdkafka wants seconds since the epoch

    return token


class TopicSettings(BaseSettings):
    """Names and shape of the scorer's topics; `flightdelay-kafka topics` creates them."""

    model_config = SettingsConfigDict(env_prefix="TOPIC_", extra="ignore")

    input: str = "flights.scheduled"
    predictions: str = "flights.delay-predictions"
    dead_letter: str = "flights.dead-letter"
    shadow_predictions: str = Field(
        default="flights.delay-predictions.shadow", description="the challenger's predictions, scored in shadow"
    )
    model_control: str = Field(default="flights.model-control", description="compacted: the model of each role")
    outcomes: str = Field(default="flights.departures", description="actual departures: what became of each flight")
    joined: str = Field(default="flights.prediction-outcomes", description="the monitor's predictions with outcomes")
    model_metrics: str = Field(default="flights.model-metrics", description="the monitor's online figures per model")
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    retention_ms: int = Field(default=7 * 24 * 3600 * 1000, ge=-1, description="-1 keeps forever")
    dead_letter_retention_ms: int = Field(default=30 * 24 * 3600 * 1000, ge=-1)
    dead_letter_max_message_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="a dead letter carries its input base64-encoded: room for a 1 MB input and more",
    )

    def names(self) -> list[str]:
        return [getattr(self, field) for field in TOPIC_NAME_FIELDS]

    def environment(self) -> dict[str, str]:
        """The `TOPIC_*` variables that give another process (a scorer, a task) these topic names."""
        return {env_name(TopicSettings, field): getattr(self, field) for field in TOPIC_NAME_FIELDS}

    @classmethod
    def unique(cls, suffix: str) -> TopicSettings:
        """A set of topics no other run shares (tests, benchmarks)."""
        names = ("in", "pred", "dlq", "shadow", "control", "departures", "joined", "metrics")
        return cls.model_validate({f: f"{n}-{suffix}" for f, n in zip(TOPIC_NAME_FIELDS, names, strict=True)})


TOPIC_NAME_FIELDS = (
    "input", "predictions", "dead_letter", "shadow_predictions", "model_control", "outcomes", "joined", "model_metrics",
)  # fmt: skip


S = TypeVar("S", bound=BaseSettings)


class SettingsError(ValueError):
    """A setting from the environment is invalid; the message names the variable, its value and why."""


def read_settings(kind: type[S]) -> S:
    """`kind()` from the environment, with errors that name the environment variable (not the field)."""
    try:
        return kind()
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            problems.append(f"{env_name(kind, field)}={error.get('input')!r}: {error['msg']}")
        raise SettingsError("; ".join(problems)) from None


def env_name(kind: type[BaseSettings], field: str) -> str:
    """The environment variable a settings field is read from."""
    info = kind.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, str):
        return info.validation_alias
    return f"{kind.model_config.get('env_prefix', '')}{field}".upper()
