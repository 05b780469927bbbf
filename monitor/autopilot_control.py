"""The autopilot at work in the monitor: each comparison report gets its decision (`monitor.autopilot`), and
once the report is committed a decision to act is carried out through the control path `training promote`
uses: the version that becomes champion is fetched and verified as a scorer would (`load_ref`), then both
records are written.

Only the instance holding partition 0 of the monitor's inputs acts (the others decide and publish only), and
its writes are transactional under one fixed transactional id: a monitor that lost partition 0 in a rebalance
is fenced by its successor's first write, so two monitors never write conflicting decisions. A failed write or
a version that does not verify is retried with exponential backoff, counted, and alerted on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from kafka_common.model_control import write_controls_atomically
from monitor.autopilot import Action, Decision, Mode, Policy, control_records, decide, stopped
from monitor.metrics import MonitorMetrics
from schemas.model_control import ModelControl, ModelRef, ModelRole
from schemas.monitoring import AutopilotDecision, ModelComparisonReport

log = logging.getLogger("monitor")
FIRST_RETRY_S = 5.0
LONGEST_RETRY_S = 300.0


class AutopilotControl:
    def __init__(
        self,
        mode: Mode,
        policy: Policy,
        client: dict[str, Any],
        topic: str,
        transactional_id: str,
        metrics: MonitorMetrics,
        verify: Callable[[ModelRef], object],
    ) -> None:
        self.mode, self.policy = mode, policy
        self._client, self._topic, self._transactional_id = client, topic, transactional_id
        self._metrics, self._verify = metrics, verify
        self._failures = 0
        self._retry_at = 0.0
        self._said: dict[tuple[str, str], tuple[Action, str]] = {}

    def judge(
        self, report: ModelComparisonReport, lineup: dict[ModelRole, ModelControl], acting: bool
    ) -> ModelComparisonReport:
        """The report with the autopilot's decision on it (unchanged when the autopilot is off)."""
        if self.mode is Mode.OFF:
            return report
        champion, challenger = lineup.get(ModelRole.CHAMPION), lineup.get(ModelRole.CHALLENGER)
        decision = decide(report, champion, challenger, self.policy)
        self._metrics.autopilot_stopped.set(int(champion is not None and stopped(champion, challenger)))
        self._say(report, decision)
        if decision.action is not Action.NONE:
            self._metrics.autopilot_decisions.labels(mode=self.mode.value, action=decision.action.value).inc()
        return report.model_copy(
            update={
                "autopilot": AutopilotDecision(
                    mode=self.mode.value,
                    action=decision.action.value,
                    reason=decision.reason,
                    acting=acting and self.mode is Mode.ON and decision.action is not Action.NONE,
                )
            }
        )

    def carry_out(
        self, reports: list[ModelComparisonReport], lineup: dict[ModelRole, ModelControl]
    ) -> list[ModelControl]:
        """Write the records of the first committed decision to act; return them (empty when none was written)."""
        for report in reports:
            if report.autopilot is None or not report.autopilot.acting or time.monotonic() < self._retry_at:
                continue
            champion, challenger = lineup.get(ModelRole.CHAMPION), lineup.get(ModelRole.CHALLENGER)
            decision = Decision(Action(report.autopilot.action), report.autopilot.reason)
            if decide(report, champion, challenger, self.policy).action is not decision.action:
                continue  # the lineup changed since the report was made
            assert champion is not None and challenger is not None and challenger.model is not None
            records = control_records(decision, report, champion, challenger)
            try:
                self._verify(challenger.model)
                write_controls_atomically(self._client, self._topic, records, self._transactional_id)
            except Exception as exc:  # deliberately broad: a failed write is retried, never fatal to the monitor
                self._failed(decision, exc)
                return []
            self._failures, self._retry_at = 0, 0.0
            self._metrics.autopilot_writes.labels(result="written").inc()
            log.warning(
                "autopilot %s: %s is champion, %s challenger: %s",
                decision.action.value,
                challenger.model.version,
                report.champion_version,
                decision.reason,
            )
            return records
        return []

    def _failed(self, decision: Decision, exc: Exception) -> None:
        self._failures += 1
        delay = min(FIRST_RETRY_S * 2 ** (self._failures - 1), LONGEST_RETRY_S)
        self._retry_at = time.monotonic() + delay
        self._metrics.autopilot_writes.labels(result="failed").inc()
        log.error("autopilot could not %s (retrying in %.0f s): %s", decision.action.value, delay, exc)

    def _say(self, report: ModelComparisonReport, decision: Decision) -> None:
        """Log a lineup's decision when it changes, not on every report."""
        key = (report.champion_version, report.challenger_version)
        said = (decision.action, decision.reason.split(":")[0])
        if self._said.get(key) != said:
            self._said[key] = said
            prefix = "autopilot (dry-run) would" if self.mode is Mode.DRY_RUN else "autopilot:"
            log.info("%s %s: %s", prefix, decision.action.value, decision.reason)
