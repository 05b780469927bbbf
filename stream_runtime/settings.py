"""Settings every stream service shares, read from the environment: how to reach the broker (`KAFKA_*`) and how
the runtime batches, commits and serves health (`StreamSettings`, which each service extends under its own
prefix); errors that name the environment variable."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN", "OAUTHBEARER"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

# While no broker can be reached, librdkafka connects "any broker" for its coordinator and metadata queries every
# half of this, past each broker's own exponential backoff (measured with 2.16: a consumer's attempts stay at
# about 19 a second with the default 100 ms, a scorer's clients at 64, each re-bootstrap starting a thread). At
# 500 ms they are 4 a second a client; a broker that comes back is found within about a second.
RECONNECT_BACKOFF_MS = 500


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
            "reconnect.backoff.ms": RECONNECT_BACKOFF_MS,
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


class StreamSettings(BaseSettings):
    """What the runtime needs of a service's settings; a service's class sets its own prefix and defaults."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    group_id: str = "stream-service"
    instance_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex[:12], description="names the transactional id; unique per process"
    )
    batch_size: int = Field(default=2_000, ge=1, le=100_000, description="records per micro-batch at most")
    batch_max_wait_ms: int = Field(default=100, ge=1, le=60_000, description="longest wait to fill a batch")
    linger_ms: float = Field(default=5, ge=0, le=1_000, description="producer linger: batches outputs")
    transaction_timeout_ms: int = Field(default=10_000, ge=1_000)
    session_timeout_ms: int = Field(
        default=10_000, ge=1_000, description="how soon a dead instance's partitions move to a live one"
    )
    http_port: int = Field(default=8080, ge=0, le=65535, description="health and metrics; 0 picks a free port")
    startup_timeout_s: float = Field(default=60.0, gt=0, description="wait this long for a broker at start")
    shutdown_timeout_s: float = Field(default=8.0, gt=0, description="longest drain after SIGTERM before exit 4")
    log_level: LogLevel = "INFO"

    @property
    def exactly_once(self) -> bool:
        return True

    @property
    def transactional_id(self) -> str:
        return f"{self.group_id}-{self.instance_id}"


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
