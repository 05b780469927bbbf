"""When the monitor promotes a challenger or rolls a champion back on its own: a pure decision, and the control
records that carry it out.

A challenger is promoted when its ROC-AUC is better than the champion's on the same flights (the always-valid
interval of the difference above zero), its Brier score is not worse by more than a margin (the interval's
lower end above minus the margin), and the pair has at least a minimum of flights. The replaced champion
becomes the challenger, so the comparison goes on with the roles swapped; if the one it replaced then proves
better (the same rule, the other way), the autopilot rolls back, once, and stops: it promotes nothing more
until a person writes a record. A comparison of any other lineup than the control topic's is stale (a record
arrived since those flights were scored) and decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from schemas.model_control import AutopilotEvidence, ModelControl, ModelRole
from schemas.monitoring import FigureComparison, ModelComparisonReport

AUTOPILOT = "monitor-autopilot"  # requested_by of the records it writes


class Mode(StrEnum):
    OFF = "off"
    DRY_RUN = "dry-run"  # decides, logs and publishes the decision, writes nothing
    ON = "on"


class Action(StrEnum):
    NONE = "none"
    PROMOTE = "promote"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class Policy:
    min_flights: int
    brier_margin: float


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str


def decide(
    comparison: ModelComparisonReport,
    champion: ModelControl | None,
    challenger: ModelControl | None,
    policy: Policy,
) -> Decision:
    """What to do about this comparison, given the control topic's current records of both roles."""
    served = (_version(champion), _version(challenger))
    if served != (comparison.champion_version, comparison.challenger_version):
        return Decision(Action.NONE, f"stale: the control topic now says champion {served[0]}, challenger {served[1]}")
    assert champion is not None and challenger is not None  # both name the versions compared
    if stopped(champion, challenger):
        return Decision(
            Action.NONE, f"stopped after rolling back to {served[0]}: a person's record (promote, clear) resumes it"
        )
    if comparison.flights < policy.min_flights:
        return Decision(Action.NONE, f"{comparison.flights:,} paired flights of the {policy.min_flights:,} needed")
    auc = comparison.roc_auc
    if auc is None:
        return Decision(Action.NONE, "no ROC-AUC yet: too few flights of one class")
    reason = _shortfall(auc, comparison.brier, policy.brier_margin)
    replaced = champion.replaces.version if champion.replaces is not None and _promoted_by_autopilot(champion) else None
    rolling_back = replaced == comparison.challenger_version
    if reason is None:
        if rolling_back:
            return Decision(Action.ROLLBACK, f"{served[1]}, the champion it replaced, is better: {_evidence(auc)}")
        return Decision(Action.PROMOTE, f"{served[1]} is better: {_evidence(auc)}")
    if rolling_back:
        return Decision(Action.NONE, f"keeping the promoted {served[0]}: {served[1]} {reason}")
    return Decision(Action.NONE, f"{served[1]} {reason}")


def stopped(champion: ModelControl, challenger: ModelControl | None) -> bool:
    """The autopilot rolled back and no person has written a record since."""
    if champion.autopilot is None or champion.autopilot.action != "rollback":
        return False
    return not (
        challenger is not None and challenger.autopilot is None and challenger.requested_at > champion.requested_at
    )


def control_records(
    decision: Decision, comparison: ModelComparisonReport, champion: ModelControl, challenger: ModelControl
) -> list[ModelControl]:
    """The records that carry out a promotion or rollback: the challenger's model becomes champion (replacing
    the champion's), and the champion's model becomes the challenger, scored in shadow."""
    if decision.action is Action.NONE:
        return []
    assert champion.model is not None and challenger.model is not None
    auc = comparison.roc_auc
    assert auc is not None, "a decision to act had a ROC-AUC"
    evidence = AutopilotEvidence(
        action=decision.action.value,
        champion_version=comparison.champion_version,
        challenger_version=comparison.challenger_version,
        flights=comparison.flights,
        roc_auc_effect=auc.effect,
        roc_auc_low=auc.low,
        roc_auc_high=auc.high,
        brier_effect=comparison.brier.effect,
        brier_low=comparison.brier.low,
        brier_high=comparison.brier.high,
    )
    now = datetime.now(UTC)

    def record(role: ModelRole, model: ModelControl, replaced: ModelControl) -> ModelControl:
        return ModelControl(
            role=role,
            model=model.model,
            replaces=replaced.model,
            requested_at=now,
            requested_by=AUTOPILOT,
            reason=f"autopilot {decision.action.value}: {decision.reason}",
            autopilot=evidence,
        )

    return [record(ModelRole.CHAMPION, challenger, champion), record(ModelRole.CHALLENGER, champion, challenger)]


def _shortfall(auc: FigureComparison, brier: FigureComparison, margin: float) -> str | None:
    """Why the challenger does not pass the rule, or None when it does."""
    if auc.verdict != "better":
        return f"is not better on ROC-AUC ({auc.verdict}: {_evidence(auc)})"
    if brier.low <= -margin:
        return f"may be worse on Brier by more than {margin:g} (its gain {brier.low:+.4f} to {brier.high:+.4f})"
    return None


def _evidence(auc: FigureComparison) -> str:
    return f"ROC-AUC {auc.effect:+.3f} [{auc.low:+.3f}, {auc.high:+.3f}]"


def _version(record: ModelControl | None) -> str | None:
    return record.model.version if record is not None and record.model is not None else None


def _promoted_by_autopilot(champion: ModelControl) -> bool:
    return champion.autopilot is not None and champion.autopilot.action == "promote"
