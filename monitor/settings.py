"""The monitor's settings, read from `MONITOR_*` environment variables (topics and broker as for the scorer)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from stream_runtime.settings import StreamSettings


class MonitorSettings(StreamSettings):
    """How the monitor joins, which windows it reports, and where it serves health and metrics."""

    model_config = SettingsConfigDict(env_prefix="MONITOR_", extra="ignore")

    group_id: str = "flightdelay-monitor"
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
    report_interval_s: float = Field(
        default=10, gt=0, description="how often figures and drift are reported, whether or not input keeps arriving"
    )
    rebuild_timeout_s: float = Field(
        default=60, gt=0, description="longest re-read of a partition's join state (at assignment, after an abort)"
    )
    comparison_max_flights: int = Field(
        default=200_000, ge=10, description="paired flights kept per champion/challenger lineup (the newest stay)"
    )
    autopilot: Literal["off", "dry-run", "on"] = Field(
        default="off",
        description="promote a challenger proven better, roll back once if the replaced champion proves better; "
        "dry-run publishes what it would do",
    )
    autopilot_min_flights: int = Field(
        default=1_000, ge=10, description="paired flights with outcomes before the autopilot acts on a comparison"
    )
    autopilot_brier_margin: float = Field(
        default=0.005, ge=0, description="how much worse on Brier a promoted challenger may possibly be"
    )
    stream_catch_up_s: float = Field(
        default=2.0,
        ge=0,
        description="before checking stream features, how long to wait for the departures read to reach their end; "
        "past it the predictions wait for the next batch",
    )
    stream_events_held: int = Field(
        default=100_000,
        ge=1,
        description="flight events remembered for the stream-feature check, and joined predictions waiting for it "
        "(the newest stay)",
    )
    http_port: int = Field(default=8081, ge=0, le=65535, description="health and metrics; 0 picks a free port")
