"""The monitor's settings, read from `MONITOR_*` environment variables (topics and broker as for the scorer)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MonitorSettings(BaseSettings):
    """How the monitor joins, which windows it reports, and where it serves health and metrics."""

    model_config = SettingsConfigDict(env_prefix="MONITOR_", extra="ignore")

    group_id: str = "flightdelay-monitor"
    instance_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12], description="names the transactional id")
    horizon_hours: float = Field(
        default=48, gt=0, description="how long (event time) a prediction waits for its outcome, and outcomes are kept"
    )
    max_held: int = Field(
        default=500_000,
        ge=1,
        description="per input partition, predictions waiting and outcomes kept at most (while an input stalls)",
    )
    window_events: int = Field(default=2_000, ge=10, description="the count window: last joined predictions")
    window_hours: float = Field(default=24, gt=0, description="the event-time window: hours of scheduled departures")
    drift_window_events: int = Field(
        default=5_000, ge=10, description="the drift window: last flight events (and last scores per version)"
    )
    model_uri: str | None = Field(
        default=None, description="the champion's version when the control topic names none (path or s3://)"
    )
    report_interval_s: float = Field(default=10, gt=0, description="how often figures go to the metrics topic")
    batch_size: int = Field(default=2_000, ge=1)
    batch_max_wait_ms: int = Field(default=100, ge=1)
    transaction_timeout_ms: int = Field(default=10_000, ge=1_000)
    session_timeout_ms: int = Field(
        default=10_000, ge=1_000, description="how soon a dead instance's partitions move to a live one"
    )
    http_port: int = Field(default=8081, ge=0, le=65535, description="health and metrics; 0 picks a free port")
    startup_timeout_s: float = Field(default=60, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @property
    def transactional_id(self) -> str:
        return f"{self.group_id}-{self.instance_id}"
