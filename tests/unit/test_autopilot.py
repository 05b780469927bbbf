"""The autopilot's decision, case by case: what it promotes, when it rolls back, and when it stops."""

from __future__ import annotations

import time

import pytest

from monitor.autopilot import AUTOPILOT, Action, Mode, Policy, control_records, decide
from monitor.autopilot_control import FIRST_RETRY_S, AutopilotControl
from monitor.metrics import MonitorMetrics
from schemas.model_control import ModelRef, ModelRole
from tests.support.lineups import comparison, control, evidence

CHAMPION, CHALLENGER = ModelRole.CHAMPION, ModelRole.CHALLENGER
POLICY = Policy(min_flights=1_000, brier_margin=0.005)
BY_PERSON = {CHAMPION: control(CHAMPION, "v1"), CHALLENGER: control(CHALLENGER, "v2")}
PROMOTED = {  # the autopilot made v2 champion; v1, the champion it replaced, is scored in shadow
    CHAMPION: control(CHAMPION, "v2", "v1", evidence("promote", "v1", "v2"), 10),
    CHALLENGER: control(CHALLENGER, "v1", "v2", evidence("promote", "v1", "v2"), 10),
}
ROLLED_BACK = {
    CHAMPION: control(CHAMPION, "v1", "v2", evidence("rollback", "v2", "v1"), 20),
    CHALLENGER: control(CHALLENGER, "v2", "v1", evidence("rollback", "v2", "v1"), 20),
}

CASES = {
    # name: (lineup on the control topic, comparison, expected action, words of the reason)
    "a better challenger is promoted": (BY_PERSON, comparison("v1", "v2"), Action.PROMOTE, "v2 is better"),
    "undecided on ROC-AUC": (BY_PERSON, comparison("v1", "v2", auc=(-0.01, 0.03)), Action.NONE, "undecided"),
    "worse on ROC-AUC": (BY_PERSON, comparison("v1", "v2", auc=(-0.05, -0.01)), Action.NONE, "worse"),
    "better on ROC-AUC, possibly much worse on Brier": (
        BY_PERSON, comparison("v1", "v2", brier=(-0.006, 0.001)), Action.NONE, "worse on Brier by more than 0.005",
    ),
    "better on ROC-AUC, worse on Brier within the margin": (
        BY_PERSON, comparison("v1", "v2", brier=(-0.004, -0.001)), Action.PROMOTE, "v2 is better",
    ),
    "too few flights": (BY_PERSON, comparison("v1", "v2", flights=999), Action.NONE, "999 paired flights"),
    "one class only": (BY_PERSON, comparison("v1", "v2", auc=None), Action.NONE, "no ROC-AUC yet"),
    "a comparison of another lineup is stale": (BY_PERSON, comparison("v1", "v3"), Action.NONE, "stale"),
    "no champion on the control topic": ({}, comparison("v1", "v2"), Action.NONE, "stale"),
    "after its promotion, the replaced champion proves better: rollback": (
        PROMOTED, comparison("v2", "v1"), Action.ROLLBACK, "the champion it replaced, is better",
    ),
    "after its promotion, the replaced champion is not better: kept": (
        PROMOTED, comparison("v2", "v1", auc=(-0.02, 0.01)), Action.NONE, "keeping the promoted v2",
    ),
    "after a rollback it stops, however good the challenger": (
        ROLLED_BACK, comparison("v1", "v2"), Action.NONE, "stopped after rolling back",
    ),
    "a person's challenger after the rollback resumes it": (
        {CHAMPION: ROLLED_BACK[CHAMPION], CHALLENGER: control(CHALLENGER, "v3", minutes=30)},
        comparison("v1", "v3"), Action.PROMOTE, "v3 is better",
    ),
    "a person's older challenger does not resume it": (
        {CHAMPION: ROLLED_BACK[CHAMPION], CHALLENGER: control(CHALLENGER, "v2", minutes=5)},
        comparison("v1", "v2"), Action.NONE, "stopped",
    ),
    "a person's promotion is judged like any lineup, not rolled back": (
        {CHAMPION: control(CHAMPION, "v2", "v1", minutes=10), CHALLENGER: control(CHALLENGER, "v1", minutes=10)},
        comparison("v2", "v1"), Action.PROMOTE, "v1 is better",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_autopilot_decides(case: str) -> None:
    lineup, report, action, words = CASES[case]
    decision = decide(report, lineup.get(CHAMPION), lineup.get(CHALLENGER), POLICY)
    assert decision.action is action, decision.reason
    assert words in decision.reason


def test_a_promotion_swaps_the_roles_and_carries_its_evidence() -> None:
    report = comparison("v1", "v2")
    decision = decide(report, BY_PERSON[CHAMPION], BY_PERSON[CHALLENGER], POLICY)
    champion, challenger = control_records(decision, report, BY_PERSON[CHAMPION], BY_PERSON[CHALLENGER])
    assert (champion.role, champion.model, champion.replaces) == (
        CHAMPION,
        BY_PERSON[CHALLENGER].model,
        BY_PERSON[CHAMPION].model,
    )
    assert (challenger.role, challenger.model) == (CHALLENGER, BY_PERSON[CHAMPION].model)
    for record in (champion, challenger):
        assert record.requested_by == AUTOPILOT and record.autopilot is not None
        assert record.autopilot.action == "promote" and record.autopilot.flights == report.flights
        assert record.autopilot.roc_auc_low == report.roc_auc.low  # type: ignore[union-attr]
    # What it wrote is what its next decision reads: the swapped lineup, watched for a rollback.
    assert decide(comparison("v2", "v1", auc=(-0.02, 0.01)), champion, challenger, POLICY).action is Action.NONE
    assert decide(comparison("v2", "v1"), champion, challenger, POLICY).action is Action.ROLLBACK


def test_a_rollback_written_by_it_stops_it() -> None:
    report = comparison("v2", "v1")
    decision = decide(report, PROMOTED[CHAMPION], PROMOTED[CHALLENGER], POLICY)
    champion, challenger = control_records(decision, report, PROMOTED[CHAMPION], PROMOTED[CHALLENGER])
    assert (champion.model.version, challenger.model.version) == ("v1", "v2")  # type: ignore[union-attr]
    assert decide(comparison("v1", "v2"), champion, challenger, POLICY).reason.startswith("stopped")


def test_a_verification_that_fails_is_retried_with_backoff_never_written() -> None:
    def refuse(_ref: ModelRef) -> None:
        raise OSError("the version's folder is gone")

    metrics = MonitorMetrics()
    pilot = AutopilotControl(Mode.ON, POLICY, {"bootstrap.servers": "127.0.0.1:1"}, "control", "t", metrics, refuse)
    judged = pilot.judge(comparison("v1", "v2"), BY_PERSON, acting=True)
    assert judged.autopilot is not None and judged.autopilot.acting and judged.autopilot.action == "promote"
    assert pilot.carry_out([judged], BY_PERSON) == []
    failed = metrics.registry.get_sample_value("flightdelay_monitor_autopilot_writes_total", {"result": "failed"})
    assert failed == 1
    assert pilot.carry_out([judged], BY_PERSON) == [], "not retried before its backoff"
    assert metrics.registry.get_sample_value("flightdelay_monitor_autopilot_writes_total", {"result": "failed"}) == 1
    assert pilot._retry_at - time.monotonic() == pytest.approx(FIRST_RETRY_S, abs=1)


@pytest.mark.parametrize("mode", [Mode.DRY_RUN, Mode.ON])
def test_only_the_instance_holding_partition_zero_in_mode_on_acts(mode: Mode) -> None:
    pilot = AutopilotControl(mode, POLICY, {}, "control", "t", MonitorMetrics(), lambda _ref: None)
    for acting in (True, False):
        judged = pilot.judge(comparison("v1", "v2"), BY_PERSON, acting=acting)
        assert judged.autopilot is not None and judged.autopilot.mode == mode.value
        assert judged.autopilot.acting is (acting and mode is Mode.ON)


def test_off_decides_nothing() -> None:
    pilot = AutopilotControl(Mode.OFF, POLICY, {}, "control", "t", MonitorMetrics(), lambda _ref: None)
    assert pilot.judge(comparison("v1", "v2"), BY_PERSON, acting=True).autopilot is None
