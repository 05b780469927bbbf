"""What a scorer does with a model control record: pure decisions, so every case is a row of a table.

The scorer serves a lineup: a champion (its predictions are the product) and at most one challenger (scored in
shadow). A control record names the model for one role. Whether to fetch it, reuse a model already loaded,
clear the shadow or do nothing is decided here; fetching, verifying and swapping between batches is
`consumer.model_follower`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schemas.model_control import ModelControl, ModelRef, ModelRole


class Step(StrEnum):
    KEEP = "keep"  # the role already holds exactly this model
    LOAD = "load"  # fetch and verify it, then swap it in
    ADOPT = "adopt"  # the other role holds it, verified: take it without fetching again
    CLEAR = "clear"  # no challenger any more: the shadow stops


@dataclass(frozen=True)
class Lineup:
    """The versions served now (what was loaded and verified, not what was asked for)."""

    champion: ModelRef
    challenger: ModelRef | None = None

    def holding(self, role: ModelRole) -> ModelRef | None:
        return self.champion if role is ModelRole.CHAMPION else self.challenger

    @property
    def shadowing(self) -> bool:
        """A challenger that is the champion itself would only repeat its predictions."""
        return self.challenger is not None and not self.challenger.same_model(self.champion)


@dataclass(frozen=True)
class Plan:
    step: Step
    role: ModelRole
    model: ModelRef | None
    why: str


def plan(lineup: Lineup, record: ModelControl) -> Plan:
    """The step that makes `record` true of the lineup, with the reason a log line gives."""
    role, wanted = record.role, record.model
    held = lineup.holding(role)
    if wanted is None:  # only a challenger record can clear
        if held is None:
            return Plan(Step.KEEP, role, None, "no challenger, none asked for")
        return Plan(Step.CLEAR, role, None, f"challenger {held.version} cleared")
    if wanted.same_model(held):
        return Plan(Step.KEEP, role, wanted, f"{wanted.version} is already the {role}")
    other = lineup.holding(ModelRole.CHALLENGER if role is ModelRole.CHAMPION else ModelRole.CHAMPION)
    if wanted.same_model(other):
        return Plan(Step.ADOPT, role, wanted, f"{wanted.version} moves to {role}, verified when it was loaded")
    return Plan(Step.LOAD, role, wanted, f"{wanted.version} asked for as {role}")


def start_candidates(champion: ModelControl | None) -> list[ModelRef]:
    """The champions to try at start, in order, before `MODEL_URI`: the control topic's, then the one it replaced.

    Running scorers refuse a champion that fails verification and keep the one before; a scorer starting
    later must end up on that same one, not on whatever `MODEL_URI` names.
    """
    if champion is None or champion.model is None:
        return []
    return [champion.model] + ([champion.replaces] if champion.replaces else [])
