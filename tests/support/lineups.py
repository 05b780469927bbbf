"""Control records and comparison reports built by hand, for the autopilot's tables and the monitor's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from schemas.model_control import AutopilotEvidence, ModelControl, ModelRef, ModelRole
from schemas.monitoring import FigureComparison, ModelComparisonReport, RecallAtThresholds

T0 = datetime(2026, 1, 1, tzinfo=UTC)
Verdict = Literal["better", "worse", "undecided"]


def ref(version: str) -> ModelRef:
    return ModelRef(version=version, uri=f"/models/{version}", manifest_sha256="0" * 64)


def evidence(action: Literal["promote", "rollback"], champion: str, challenger: str) -> AutopilotEvidence:
    return AutopilotEvidence(
        action=action, champion_version=champion, challenger_version=challenger, flights=5_000,
        roc_auc_effect=0.03, roc_auc_low=0.01, roc_auc_high=0.05, brier_effect=0.001, brier_low=-0.001,
        brier_high=0.003,
    )  # fmt: skip


def control(
    role: ModelRole,
    version: str,
    replaces: str | None = None,
    autopilot: AutopilotEvidence | None = None,
    minutes: int = 0,
) -> ModelControl:
    return ModelControl(
        role=role,
        model=ref(version),
        replaces=ref(replaces) if replaces else None,
        requested_at=T0 + timedelta(minutes=minutes),
        requested_by="monitor-autopilot" if autopilot else "person@host",
        autopilot=autopilot,
    )


def figure(name: Literal["roc_auc", "brier"], low: float, high: float) -> FigureComparison:
    verdict: Verdict = "better" if low > 0 else "worse" if high < 0 else "undecided"
    return FigureComparison(
        figure=name, champion=0.7, challenger=0.7 + (low + high) / 2, effect=(low + high) / 2,
        standard_error=(high - low) / 6, low=low, high=high, verdict=verdict,
    )  # fmt: skip


def comparison(
    champion: str,
    challenger: str,
    flights: int = 5_000,
    auc: tuple[float, float] | None = (0.01, 0.05),
    brier: tuple[float, float] = (-0.001, 0.003),
) -> ModelComparisonReport:
    """A comparison whose ROC-AUC and Brier gains have the given always-valid intervals (low, high)."""
    return ModelComparisonReport(
        champion_version=champion,
        challenger_version=challenger,
        flights=flights,
        delayed=flights // 5,
        roc_auc=figure("roc_auc", *auc) if auc else None,
        brier=figure("brier", *brier),
        recall=RecallAtThresholds(
            champion_recall=0.6,
            challenger_recall=0.62,
            champion_precision=0.3,
            challenger_precision=0.31,
            only_champion=10,
            only_challenger=14,
            mcnemar_p=0.5,
        ),
        alpha=0.05,
        reported_at=T0,
    )
