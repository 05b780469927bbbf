"""Every scorer follows the model control topic: it fetches and verifies what a record names, then the loop swaps
it in between two batches.

The topic is read from its start by a consumer of its own (assigned, never in a group, never committing), so a
scorer that starts finds the current lineup and one that runs sees each change within one loop iteration. A
record is verified exactly as a model at start (the version's manifest against the record's sha256, every file
against the manifest, tables the scorer can serve); one that fails is refused with its reason and counted, and
the scorer goes on with the models it has.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from consumer.rollout import Lineup, Plan, Step, plan, start_candidates
from kafka_common.model_control import ControlReader, InvalidControl
from schemas.model_control import ModelControl, ModelRef, ModelRole, RefusedRecord
from training.lookup import ServingModel
from training.manifest import ModelVerificationError
from training.model_store import load_pinned

log = logging.getLogger("consumer")

Loader = Callable[[ModelRef], ServingModel]
SwapResult = Literal["swapped", "cleared", "refused", "invalid_record"]
Outcome = Callable[[ModelRole | None, SwapResult], None]  # (role, result): counted by the metrics; None: no role


@dataclass
class ModelFollower:
    """The models served now, changed only by records that verify; the loop asks it between batches."""

    reader: ControlReader
    load: Loader
    outcome: Outcome
    models: dict[ModelRole, ServingModel] = field(default_factory=dict)
    lineup: Lineup | None = None
    refused: RefusedRecord | None = None  # the last record refused, for the fleet topic

    def start(self, fallback_uri: str, timeout_s: float) -> None:
        """The control topic's champion (or the one it replaced) when it verifies, else `MODEL_URI`."""
        champion: ModelControl | None = None
        challenger: ModelControl | None = None
        for record in self.reader.read_to_end(timeout_s):
            if isinstance(record, InvalidControl):
                log.warning("model control: skipping a record: %s", record)
            elif record.role is ModelRole.CHAMPION:
                champion = record
            else:
                challenger = record
        problems: list[str] = []
        for ref in start_candidates(champion):
            try:
                self._serve(ModelRole.CHAMPION, ref, self.load(ref))
                break
            except ModelVerificationError as exc:
                problems.append(f"{ref.version}: {exc}")
                self._refuse(ModelRole.CHAMPION, ref, exc)
                log.error("model control: refusing champion %s: %s", ref.version, exc)
        else:
            try:
                model, ref = load_pinned(fallback_uri)
            except ModelVerificationError as exc:  # nothing verified to serve: the one line says all that failed
                refused = f"; refused before it, from the control topic: {'; '.join(problems)}" if problems else ""
                raise ModelVerificationError(f"MODEL_URI={fallback_uri}: {exc}{refused}") from exc
            self._serve(ModelRole.CHAMPION, ref, model)
        if challenger is not None:
            self._apply(challenger)

    def poll(self) -> bool:
        """Apply the records that arrived; True when the models served changed."""
        changed = False
        for record in self.reader.poll():
            if isinstance(record, InvalidControl):
                self.outcome(record.role, "invalid_record")
                log.error("model control: refusing a record: %s", record)
                continue
            changed = self._apply(record) or changed
        return changed

    def _apply(self, record: ModelControl) -> bool:
        assert self.lineup is not None
        step = plan(self.lineup, record)
        if step.step is Step.KEEP:
            return False
        if step.step is Step.CLEAR:
            self.models.pop(ModelRole.CHALLENGER, None)
            self.lineup = Lineup(self.lineup.champion, None)
            self._log(step, record, "cleared")
            return True
        assert step.model is not None
        if step.step is Step.ADOPT:
            other = ModelRole.CHALLENGER if step.role is ModelRole.CHAMPION else ModelRole.CHAMPION
            self._serve(step.role, step.model, self.models[other])
            self._log(step, record, "swapped")
            return True
        try:
            model = self.load(step.model)
        except ModelVerificationError as exc:
            self._refuse(step.role, step.model, exc)
            log.error(
                "model control: refusing %s as %s, keeping %s: %s",
                step.model.version,
                step.role,
                getattr(self.lineup.holding(step.role), "version", "none"),
                exc,
                extra={"requested_by": record.requested_by, "reason": record.reason},
            )
            return False
        self._serve(step.role, step.model, model)
        self._log(step, record, "swapped")
        return True

    def _refuse(self, role: ModelRole, ref: ModelRef, exc: ModelVerificationError) -> None:
        self.outcome(role, "refused")
        self.refused = RefusedRecord(role=role, version=ref.version, reason=str(exc), at=datetime.now(UTC))

    def _serve(self, role: ModelRole, ref: ModelRef, model: ServingModel) -> None:
        self.models[role] = model
        if role is ModelRole.CHAMPION:
            self.lineup = Lineup(ref, self.lineup.challenger if self.lineup else None)
        else:
            assert self.lineup is not None
            self.lineup = Lineup(self.lineup.champion, ref)

    def _log(self, step: Plan, record: ModelControl, result: SwapResult) -> None:
        self.outcome(step.role, result)
        log.info(
            "model control: %s",
            step.why,
            extra={"role": str(step.role), "requested_by": record.requested_by, "reason": record.reason},
        )

    @property
    def champion(self) -> ServingModel:
        return self.models[ModelRole.CHAMPION]

    @property
    def challenger(self) -> ServingModel | None:
        return self.models.get(ModelRole.CHALLENGER) if self.lineup and self.lineup.shadowing else None
