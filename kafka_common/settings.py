"""The project's topics, read from the environment so every process names them the same way."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream_runtime.settings import env_name


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
    model_fleet: str = Field(default="flights.model-fleet", description="compacted: what each scorer instance serves")
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    retention_ms: int = Field(default=7 * 24 * 3600 * 1000, ge=-1, description="-1 keeps forever")
    dead_letter_retention_ms: int = Field(default=30 * 24 * 3600 * 1000, ge=-1)
    outcomes_retention_ms: int = Field(
        default=8 * 24 * 3600 * 1000,
        ge=-1,
        description="the departures: at least the stream features' longest window (7 days) plus a day, so a scorer "
        "started at any moment rebuilds them whole",
    )
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
        names = ("in", "pred", "dlq", "shadow", "control", "departures", "joined", "metrics", "fleet")
        return cls.model_validate({f: f"{n}-{suffix}" for f, n in zip(TOPIC_NAME_FIELDS, names, strict=True)})


TOPIC_NAME_FIELDS = (
    "input", "predictions", "dead_letter", "shadow_predictions", "model_control", "outcomes", "joined", "model_metrics",
    "model_fleet",
)  # fmt: skip
