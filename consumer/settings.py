"""Scorer settings (`SCORER_*` and `MODEL_URI`), read from the environment."""

from __future__ import annotations

import socket
import uuid
from enum import StrEnum

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from stream_runtime.settings import StreamSettings


class ProcessingGuarantee(StrEnum):
    EXACTLY_ONCE = "exactly_once"
    AT_LEAST_ONCE = "at_least_once"


def unique_instance_id() -> str:
    """Host name plus a random suffix: two scorers on one host never share a transactional id by accident."""
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


class ScorerSettings(StreamSettings):
    """How the consumer batches, commits, limits dead letters and reports its health."""

    model_config = SettingsConfigDict(env_prefix="SCORER_", extra="ignore", populate_by_name=True)

    model_uri: str = Field(
        default="models",
        validation_alias="MODEL_URI",
        description="model version directory, a models directory (its `latest`), or s3://bucket/prefix/",
    )
    group_id: str = "flightdelay-scorer"
    instance_id: str = Field(
        default_factory=unique_instance_id,
        description="names the transactional id; unique per process unless set (see the README's trade-off)",
    )
    processing_guarantee: ProcessingGuarantee = ProcessingGuarantee.EXACTLY_ONCE
    batch_max_wait_ms: int = Field(
        default=10, ge=1, le=60_000, description="longest wait to fill a batch: bounds latency at low rates"
    )
    # A crashed instance's open transaction blocks read_committed readers until the coordinator aborts it:
    # transaction.timeout.ms plus the broker's abort-check interval (10 s by default, 1 s on the local broker).
    transaction_timeout_ms: int = Field(default=5_000, ge=1_000)
    max_payload_bytes: int = Field(default=64 * 1024, ge=256)
    dead_letter_max_value_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=0,
        description="larger originals are referenced by sha256 and position instead of copied (fits the topic)",
    )
    max_invalid_ratio: float = Field(default=0.5, gt=0, le=1, description="fail closed above this share")
    invalid_window: int = Field(default=1_000, ge=1, description="events in the sliding window of that share")
    invalid_min_events: int = Field(default=200, ge=1, description="events seen before the limit applies")
    max_consecutive_invalid: int = Field(
        default=1_000, ge=0, description="fail closed after this many invalid events in a row (0: no such limit)"
    )
    invalid_allowance: int = Field(
        default=0, ge=0, description="one-off: invalid events dead-lettered without counting against the ratio"
    )
    predict_concurrency: int = Field(
        default=1, ge=0, le=16, description="`POST /predict` requests scored at once (0 turns the endpoint off)"
    )
    predict_max_events: int = Field(default=1_000, ge=1, description="events per `POST /predict` request at most")
    predict_max_bytes: int = Field(default=1024 * 1024, ge=1024, description="`POST /predict` body size at most")
    top_contributions: int = Field(default=3, ge=0, le=20)
    fleet_report_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="how often a running scorer rewrites its status on the fleet topic; a status three of these "
        "old is one a killed scorer left behind",
    )
    stream_catch_up_s: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="longest wait, before a batch a stream-feature model scores, for the departures read so far to "
        "reach the topic's end; past it the batch is scored with what is held and counted as behind",
    )

    @property
    def exactly_once(self) -> bool:
        return self.processing_guarantee is ProcessingGuarantee.EXACTLY_ONCE
