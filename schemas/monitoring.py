"""Payloads the monitor writes: each prediction joined with its flight's outcome, each model's online figures,
the paired comparison of champion and challenger, the figures estimated before the outcomes, and the stream
features recomputed against those the predictions carried (these four share the model-metrics topic, told apart
by `kind`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter

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

    kind: Literal["figures"] = "figures"
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
    estimated: list[EstimatedFigure] = Field(
        default_factory=list, description="the same flights' figures estimated from their probabilities alone"
    )
    reported_at: datetime


class EstimatedFigure(BaseModel):
    """A figure estimated from the probabilities alone (as if they were calibrated), with its 95 % interval; once
    the outcomes are known, the realized value beside it and whether it departs beyond chance (0.1 %)."""

    model_config = ConfigDict(frozen=True)

    figure: Literal["roc_auc", "recall", "precision", "f1", "brier"]
    estimate: float
    low: float
    high: float
    realized: float | None = None
    departs: bool | None = Field(
        default=None, description="ROC-AUC and Brier only: the relation between inputs and delays has changed"
    )


class PerformanceEstimateReport(BaseModel):
    """One version's figures estimated on its predictions still waiting for an outcome (the newest
    MONITOR_WINDOW_EVENTS of them): how it is doing before anyone can know."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["estimate"] = "estimate"
    role: ModelRole
    model_version: str
    waiting: int = Field(description="predictions the estimate covers")
    figures: list[EstimatedFigure]
    reported_at: datetime


class FigureComparison(BaseModel):
    """One figure of both versions on the same flights; `effect` is signed so that positive favours the
    challenger, and [low, high] is an always-valid interval: it may be looked at after every batch."""

    model_config = ConfigDict(frozen=True)

    figure: Literal["roc_auc", "brier"]
    champion: float
    challenger: float
    effect: float = Field(description="challenger minus champion for ROC-AUC; champion minus challenger for Brier")
    standard_error: float
    low: float
    high: float
    verdict: Literal["better", "worse", "undecided"] = Field(description="the challenger's, at this look")


class RecallAtThresholds(BaseModel):
    """Each version at its own threshold on the same delayed flights, with McNemar's exact test."""

    model_config = ConfigDict(frozen=True)

    champion_recall: float
    challenger_recall: float
    champion_precision: float | None
    challenger_precision: float | None
    only_champion: int = Field(description="delayed flights the champion flags and the challenger misses")
    only_challenger: int
    mcnemar_p: float = Field(description="fixed-sample p-value: reported, not a gate")


class AutopilotDecision(BaseModel):
    """What the autopilot decided on this comparison, and why."""

    model_config = ConfigDict(frozen=True)

    mode: Literal["off", "dry-run", "on"]
    action: Literal["none", "promote", "rollback"]
    reason: str
    acting: bool = Field(
        description="true when this monitor writes the records once this report is committed (mode on, and it "
        "holds partition 0)"
    )


class ModelComparisonReport(BaseModel):
    """Champion and challenger on the flights both scored whose outcomes are joined, since the pair began."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["comparison"] = "comparison"
    champion_version: str
    challenger_version: str
    flights: int
    delayed: int
    roc_auc: FigureComparison | None = Field(description="None until both classes have two flights")
    brier: FigureComparison
    recall: RecallAtThresholds
    alpha: float = Field(description="the intervals' error rate over all looks together")
    autopilot: AutopilotDecision | None = None
    reported_at: datetime

    @property
    def key(self) -> bytes:
        return f"{self.champion_version}..{self.challenger_version}".encode()

    def summary(self) -> str:
        """One line for people: both gains with their intervals and verdicts, and the autopilot's decision."""
        auc = self.roc_auc
        verdict = (
            f"ROC-AUC {auc.challenger:.3f} vs {auc.champion:.3f}, gain {auc.effect:+.3f} [{auc.low:+.3f}, "
            f"{auc.high:+.3f}]: {auc.verdict}"
            if auc is not None
            else "ROC-AUC: too few flights of one class"
        )
        brier = self.brier
        line = (
            f"challenger {self.challenger_version} against champion {self.champion_version} on {self.flights:,} "
            f"paired flights: {verdict}; Brier gain {brier.effect:+.4f} [{brier.low:+.4f}, {brier.high:+.4f}]: "
            f"{brier.verdict}"
        )
        pilot = self.autopilot
        if pilot is not None and pilot.mode != "off":
            line += f"; autopilot ({pilot.mode}): {pilot.action}, {pilot.reason}"
        return line


class FeatureConsistency(BaseModel):
    """One stream feature: values recomputed by the training definition and those that differed."""

    model_config = ConfigDict(frozen=True)

    feature: str
    values: int
    mismatched: int

    @property
    def mismatch_rate(self) -> float | None:
        return self.mismatched / self.values if self.values else None


class StreamConsistencyReport(BaseModel):
    """What one monitor instance found since it started: the stream features of the joined predictions that
    carry them, recomputed from the events and outcomes it read, against the values they were scored with."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["stream_consistency"] = "stream_consistency"
    monitor: str = Field(description="the monitor instance (each checks the partitions it holds)")
    predictions: int = Field(description="joined predictions checked")
    unchecked: dict[str, int] = Field(description="joined predictions not checked, by why")
    features: list[FeatureConsistency]
    reported_at: datetime

    @property
    def key(self) -> bytes:
        return f"stream-consistency/{self.monitor}".encode()

    def summary(self) -> str:
        """One line for people: how many values, how many differed and in which features."""
        values = sum(f.values for f in self.features)
        mismatched = {f.feature: f.mismatched for f in self.features if f.mismatched}
        found = ", ".join(f"{name} {count:,}" for name, count in sorted(mismatched.items(), key=lambda kv: -kv[1]))
        unchecked = sum(self.unchecked.values())
        return (
            f"{self.predictions:,} predictions checked ({values:,} values): {sum(mismatched.values()):,} differ"
            + (f" ({found})" if found else "")
            + (
                f"; {unchecked:,} not checked ({', '.join(f'{k} {v:,}' for k, v in self.unchecked.items() if v)})"
                if unchecked
                else ""
            )
        )


def _kind(value: Any) -> str:
    """A record written before the field existed is a figures report."""
    found = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return str(found or "figures")


ModelMetricsRecord = Annotated[
    Annotated[ModelMetricsReport, Tag("figures")]
    | Annotated[ModelComparisonReport, Tag("comparison")]
    | Annotated[PerformanceEstimateReport, Tag("estimate")]
    | Annotated[StreamConsistencyReport, Tag("stream_consistency")],
    Discriminator(_kind),
]
MODEL_METRICS_RECORD: TypeAdapter[
    ModelMetricsReport | ModelComparisonReport | PerformanceEstimateReport | StreamConsistencyReport
] = TypeAdapter(ModelMetricsRecord)
