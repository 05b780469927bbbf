"""The reference profiles the monitor compares the stream with: those of the versions the control topic names.

The champion's profile is what the input features are compared with; each version's own, what its scores are.
A version is loaded and verified as the scorers load it (`training.model_store.load_ref`); one that cannot be
is logged and left out, and the profiles known so far stay. Without a champion on the control topic,
`MONITOR_MODEL_URI` (when set) names it; else the champion the running scorers say they serve on the fleet topic
(scorers started from their `MODEL_URI`), followed as it changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Protocol

from kafka_common.model_control import ControlRecord, latest_by_role
from schemas.model_control import ModelControl, ModelRef, ModelRole
from training.lookup import ServingModel
from training.manifest import OFFLINE_FIGURES
from training.model_store import load_ref, load_serving
from training.reference import ReferenceProfile

log = logging.getLogger("monitor")


class Control(Protocol):
    """The control topic's records (`kafka_common.model_control.ControlReader`)."""

    def read_to_end(self, timeout_s: float) -> list[ControlRecord]: ...
    def poll(self) -> list[ControlRecord]: ...
    def close(self) -> None: ...


class Fleet(Protocol):
    """What the running scorers say they serve (`kafka_common.model_fleet.FleetReader`)."""

    def start(self, timeout_s: float) -> None: ...
    def poll(self) -> None: ...
    def served_champion(self, now: datetime) -> ModelRef | None: ...
    def close(self) -> None: ...


class References:
    """Reference profiles by model version, and which version is the champion."""

    def __init__(self, control: Control | None, model_uri: str | None, fleet: Fleet | None = None) -> None:
        self._control, self._model_uri, self._fleet = control, model_uri, fleet
        self._fleet_tried: ModelRef | None = None  # the fleet's champion last loaded or refused: tried once
        self.by_version: dict[str, ReferenceProfile] = {}
        self.offline: dict[str, dict[str, float]] = {}  # by version: the manifest's test figures, by online name
        self.champion: str | None = None
        self.lineup: dict[ModelRole, ModelControl] = {}  # the control topic's newest record of each role

    def start(self, timeout_s: float) -> None:
        if self._control is not None:
            self._apply(self._control.read_to_end(timeout_s))
        if self.champion is None and self._model_uri:
            self._add(ModelRole.CHAMPION, partial(load_serving, self._model_uri))
        if self._fleet is not None:
            self._fleet.start(timeout_s)
            self._follow_fleet()

    def refresh(self) -> None:
        """Take the control records (and fleet statuses) that arrived since the last call."""
        if self._control is not None:
            self._apply(self._control.poll())
        if self._fleet is not None:
            self._fleet.poll()
            self._follow_fleet()

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
        if self._fleet is not None:
            self._fleet.close()

    @property
    def champion_profile(self) -> ReferenceProfile | None:
        return self.by_version.get(self.champion) if self.champion else None

    def serves(self, role: ModelRole, version: str) -> bool:
        """Whether the scorers serve `version` in `role` now, as far as the control topic (or, for a champion no
        record names, `MODEL_URI`) says."""
        record = self.lineup.get(role)
        if record is not None:
            return record.model is not None and record.model.version == version
        return role is ModelRole.CHAMPION and self.champion == version

    def _follow_fleet(self) -> None:
        """With no champion record and no `MONITOR_MODEL_URI`, the champion is the one the running scorers agree
        they serve; each such version is loaded (or refused) once."""
        if self._fleet is None or ModelRole.CHAMPION in self.lineup or self._model_uri:
            return
        ref = self._fleet.served_champion(datetime.now(UTC))
        if ref is None or ref == self._fleet_tried:
            return
        self._fleet_tried = ref
        if ref.version in self.by_version:
            self.champion = ref.version
        else:
            log.info("champion from the fleet topic: the running scorers serve %s (%s)", ref.version, ref.uri)
            self._add(ModelRole.CHAMPION, partial(load_ref, ref))

    def _apply(self, records: list[ControlRecord]) -> None:
        newest = latest_by_role(records)
        self.lineup.update(newest)
        for role, record in newest.items():
            ref = record.model
            if ref is not None and ref.version not in self.by_version:
                self._add(role, partial(load_ref, ref))
            if role is ModelRole.CHAMPION and ref is not None and ref.version in self.by_version:
                self.champion = ref.version

    def _add(self, role: ModelRole, load: Callable[[], ServingModel]) -> None:
        try:
            model = load()
        except Exception as exc:  # deliberately broad: a version we cannot read must not stop the monitor
            log.warning("no reference profile for the %s: %s", role.value, exc)
            return
        test = model.manifest.metrics.get("test", {})
        self.offline[model.version] = {
            figure: float(test[key]) for figure, key in OFFLINE_FIGURES.items() if key in test
        }
        if model.manifest.reference is None:
            log.warning("version %s has no reference profile (trained before profiles were recorded)", model.version)
            return
        self.by_version[model.version] = model.manifest.reference
        if role is ModelRole.CHAMPION:
            self.champion = model.version
