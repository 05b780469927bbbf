"""The reference profiles the monitor compares the stream with: those of the versions the control topic names.

The champion's profile is what the input features are compared with; each version's own, what its scores are.
A version is loaded and verified as the scorers load it (`training.model_store.load_ref`); one that cannot be
is logged and left out, and the profiles known so far stay. Without a champion on the control topic,
`MONITOR_MODEL_URI` (when set) names it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from kafka_common.model_control import ControlReader, ControlRecord, latest_by_role
from schemas.model_control import ModelControl, ModelRole
from training.lookup import ServingModel
from training.manifest import OFFLINE_FIGURES
from training.model_store import load_ref, load_serving
from training.reference import ReferenceProfile

log = logging.getLogger("monitor")


class References:
    """Reference profiles by model version, and which version is the champion."""

    def __init__(self, control: ControlReader | None, model_uri: str | None) -> None:
        self._control, self._model_uri = control, model_uri
        self.by_version: dict[str, ReferenceProfile] = {}
        self.offline: dict[str, dict[str, float]] = {}  # by version: the manifest's test figures, by online name
        self.champion: str | None = None
        self.lineup: dict[ModelRole, ModelControl] = {}  # the control topic's newest record of each role

    def start(self, timeout_s: float) -> None:
        if self._control is not None:
            self._apply(self._control.read_to_end(timeout_s))
        if self.champion is None and self._model_uri:
            self._add(ModelRole.CHAMPION, partial(load_serving, self._model_uri))

    def refresh(self) -> None:
        """Take the control records that arrived since the last call."""
        if self._control is not None:
            self._apply(self._control.poll())

    def close(self) -> None:
        if self._control is not None:
            self._control.close()

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
