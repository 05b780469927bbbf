"""Payloads the monitor writes: each prediction joined with its flight's outcome, and each model's online figures."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.model_control import ModelRole
from schemas.outputs import SourcePosition


class JoinedPrediction(BaseModel):
    """A prediction and what became of the flight: one record per prediction (champion and challenger alike)."""

    model_config = ConfigDict(frozen=True)

    flight_id: str
    role: ModelRole
    model_version: str
    delay_probability: float = Field(ge=0, le=1)
    threshold: float = Field(ge=0, le=1)
    predicted_delayed: bool
    delayed: bool = Field(description="what happened: departed more than 15 minutes late")
    delay_minutes: float
    scheduled_departure: datetime
    prediction: SourcePosition
    outcome: SourcePosition


class ModelMetricsReport(BaseModel):
    """One model version's figures over one window of joined predictions."""

    model_config = ConfigDict(frozen=True)

    role: ModelRole
    model_version: str
    window: Literal["events", "event_time"] = Field(
        description="`events`: the last MONITOR_WINDOW_EVENTS joined predictions; `event_time`: those whose "
        "scheduled departure lies within MONITOR_WINDOW_HOURS of the newest"
    )
    events: int
    delayed: int
    roc_auc: float | None = Field(description="None while the window holds one class only")
    pr_auc: float | None
    recall: float
    precision: float
    f1: float
    brier: float
    ece: float = Field(description="expected calibration error over 10 uniform bins")
    mean_probability: float
    predicted_delayed_rate: float
    actual_delayed_rate: float
    pending: int = Field(description="predictions of this scorer's partitions still waiting for an outcome")
    reported_at: datetime
