"""Payloads the scorer writes: `DelayPrediction` (prediction topic) and `DeadLetter` (dead-letter topic)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The order of a prediction's `stream_features` values, named on the contract so that a reader of the topic needs
# nothing else. `training.stream_features` defines each feature; a test holds its names to these.
STREAM_FEATURE_NAMES: tuple[str, ...] = (
    "airline_1h_count",
    "airline_1h_delayed_share",
    "airline_1h_mean_delay_minutes",
    "airline_3h_count",
    "airline_3h_delayed_share",
    "airline_3h_mean_delay_minutes",
    "airline_24h_count",
    "airline_24h_delayed_share",
    "airline_24h_mean_delay_minutes",
    "airport_1h_count",
    "airport_1h_delayed_share",
    "airport_1h_mean_delay_minutes",
    "airport_3h_count",
    "airport_3h_delayed_share",
    "airport_3h_mean_delay_minutes",
    "airport_24h_count",
    "airport_24h_delayed_share",
    "airport_24h_mean_delay_minutes",
    "destination_1h_count",
    "destination_1h_delayed_share",
    "destination_1h_mean_delay_minutes",
    "destination_3h_count",
    "destination_3h_delayed_share",
    "destination_3h_mean_delay_minutes",
    "destination_24h_count",
    "destination_24h_delayed_share",
    "destination_24h_mean_delay_minutes",
    "flight_7d_count",
    "flight_7d_delayed_share",
    "flight_7d_last_delay_minutes",
    "flight_7d_last_age_minutes",
)


class SourcePosition(BaseModel):
    """Where the input record was read: lets anyone trace an output back to its input."""

    topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)


class FeatureContribution(BaseModel):
    """One term of the logistic model's sum, in words: `destination=SCCI (Punta Arenas)` adds `log_odds`."""

    feature: str
    log_odds: float


class DelayPrediction(BaseModel):
    """The chance that a flight leaves more than 15 minutes late, with the reasons."""

    model_config = ConfigDict(frozen=True)

    flight_id: str
    delay_probability: float = Field(ge=0, le=1, description="Calibrated probability of a delay > 15 min")
    delayed: bool = Field(description="delay_probability >= threshold")
    threshold: float = Field(ge=0, le=1)
    model_version: str
    top_contributions: list[FeatureContribution] = Field(
        description="Terms of the log-odds that pushed towards the decision first (positive: towards a delay, "
        "when `delayed`; negative: towards on time, when not), largest first; then those that pushed against it"
    )
    unseen_categories: list[str] = Field(
        description="Features whose value the model never saw in training (scored as neutral), e.g. `destination`"
    )
    scheduled_departure: datetime
    event_time: datetime = Field(description="Timestamp of the input record")
    scored_at: datetime
    source: SourcePosition
    stream_features: list[float | None] | None = Field(
        default=None,
        min_length=len(STREAM_FEATURE_NAMES),
        max_length=len(STREAM_FEATURE_NAMES),
        description="What the departures said before the event, as the version read them: one value per name of "
        "`STREAM_FEATURE_NAMES` (`schemas/outputs.py`), in that order, as `prefixItems` titles them (null: not "
        "known; see `training/stream_features.py`); null for a version that reads none",
        json_schema_extra={"prefixItems": [{"title": name} for name in STREAM_FEATURE_NAMES]},
    )
    stream_features_current: bool | None = Field(
        default=None,
        description="false when the scorer scored before reading the departures to their end (late or stopped); "
        "null for a version that reads none",
    )


ErrorKind = Literal["not_utf8", "not_json", "not_an_object", "too_large", "empty", "invalid_event", "unscorable"]


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending field, or `$` for the whole payload")
    error: str = Field(description="Machine-readable error type, e.g. `missing`, `unknown_airline`")
    message: str


class Header(BaseModel):
    key: str
    value_base64: str | None


class DeadLetter(BaseModel):
    """An input record that could not be scored: the original bytes, exactly, and why."""

    error_kind: ErrorKind
    reason: str = Field(description="One line for people")
    errors: list[FieldError]
    key_base64: str | None = Field(description="Original key, standard base64 (RFC 4648 section 4)")
    value_base64: str | None = Field(
        description="Original value, standard base64 (RFC 4648 section 4); null when the value was null, or too "
        "large to fit in a dead letter (then `value_sha256` and the source position identify it)"
    )
    value_bytes: int = Field(ge=0, description="Size of the original value")
    value_sha256: str | None = Field(description="sha256 of the original value, hex")
    headers: list[Header]
    source: SourcePosition
    consumer_group: str
    dead_lettered_at: datetime
