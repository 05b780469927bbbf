"""Payload of the model control topic: which model version holds each role, and who decided it and why.

The topic is compacted and keyed by role (`champion`, `challenger`), so its last record per key is the current
lineup; every scorer of the group follows it. A record pins a version completely: `manifest_sha256` is the
sha256 of the version's `manifest.json`, which in turn holds the sha256 of every other file of the version.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

SHA256 = r"^[0-9a-f]{64}$"


class ModelRole(StrEnum):
    CHAMPION = "champion"  # its predictions go to the prediction topic
    CHALLENGER = "challenger"  # scored in shadow: its predictions go to the shadow topic only


class ModelRef(BaseModel):
    """One model version and where to fetch it."""

    model_config = ConfigDict(frozen=True)

    version: str = Field(min_length=1, pattern=r"^[^/\s]+$")
    uri: str = Field(min_length=1, description="Version directory: a local path or s3://bucket/prefix/<version>/")
    manifest_sha256: str = Field(pattern=SHA256, description="sha256 of the version's manifest.json")

    def same_model(self, other: ModelRef | None) -> bool:
        """One version with one manifest is one model, wherever it is fetched from."""
        return other is not None and (self.version, self.manifest_sha256) == (other.version, other.manifest_sha256)


class AutopilotEvidence(BaseModel):
    """Why the monitor's autopilot wrote a record: its action and the paired comparison it acted on."""

    model_config = ConfigDict(frozen=True)

    action: Literal["promote", "rollback"]
    champion_version: str = Field(description="the champion of the comparison (before this record)")
    challenger_version: str
    flights: int
    roc_auc_effect: float = Field(description="challenger minus champion")
    roc_auc_low: float
    roc_auc_high: float
    brier_effect: float = Field(description="champion minus challenger: positive favours the challenger")
    brier_low: float
    brier_high: float


class ModelControl(BaseModel):
    """The model a role is given (or, for the challenger, none: the shadow stops)."""

    model_config = ConfigDict(frozen=True)

    role: ModelRole
    model: ModelRef | None = Field(description="null clears the challenger; a champion always names a model")
    replaces: ModelRef | None = Field(
        default=None, description="What held the role before this record: what `training rollback` goes back to"
    )
    requested_at: AwareDatetime
    requested_by: str = Field(min_length=1)
    reason: str = ""
    autopilot: AutopilotEvidence | None = Field(
        default=None, description="set when the monitor's autopilot wrote this record; null when a person did"
    )

    @model_validator(mode="after")
    def _champion_names_a_model(self) -> ModelControl:
        if self.role is ModelRole.CHAMPION and self.model is None:
            raise ValueError("a champion record must name a model; only the challenger can be cleared")
        return self

    @property
    def key(self) -> bytes:
        return self.role.value.encode()


class RefusedRecord(BaseModel):
    """The last control record a scorer refused, and why: it went on serving what it had."""

    model_config = ConfigDict(frozen=True)

    role: ModelRole
    version: str
    reason: str
    at: AwareDatetime


class ServingStatus(BaseModel):
    """What one scorer instance serves now, on the compacted fleet topic keyed by `<group>/<instance>`: written
    when it starts serving, swaps or refuses, again every `report_every_s` while it runs, and withdrawn (a
    tombstone) when it stops cleanly. The control topic says what was asked; this says what runs."""

    model_config = ConfigDict(frozen=True)

    instance: str
    group_id: str
    champion: ModelRef
    challenger: ModelRef | None = None
    since: AwareDatetime = Field(description="when it started serving this lineup")
    refused: RefusedRecord | None = None
    written_at: AwareDatetime
    report_every_s: float | None = Field(
        default=None,
        gt=0,
        description="how often the instance rewrites its status while it runs, so that a reader tells one that "
        "stopped without withdrawing it (killed, cut off from the broker) from one that runs; none: only on change",
    )

    @property
    def key(self) -> bytes:
        return f"{self.group_id}/{self.instance}".encode()
