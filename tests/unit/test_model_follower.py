"""The follower's wiring of the rollout decisions: start-up fallbacks, refusals, swaps (records from a list)."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from consumer.model_follower import ModelFollower
from kafka_common.model_control import ControlRecord, InvalidControl
from schemas.model_control import ModelControl, ModelRef, ModelRole
from training.lookup import ServingModel
from training.manifest import ModelVerificationError

CHAMPION, CHALLENGER = ModelRole.CHAMPION, ModelRole.CHALLENGER


class ListReader:
    """The control topic's records as a list: what `ControlReader` hands the follower."""

    def __init__(self, existing: list[ControlRecord]) -> None:
        self.existing = existing
        self.arriving: list[ControlRecord] = []

    def read_to_end(self, timeout_s: float) -> list[ControlRecord]:
        return list(self.existing)

    def poll(self) -> list[ControlRecord]:
        arrived, self.arriving = self.arriving, []
        return arrived


def ref(version: str) -> ModelRef:
    digest = hashlib.sha256(version.encode()).hexdigest()
    return ModelRef(version=version, uri=f"/models/{version}", manifest_sha256=digest)


def record(role: ModelRole, version: str | None, replaces: str | None = None) -> ModelControl:
    return ModelControl(
        role=role,
        model=ref(version) if version else None,
        replaces=ref(replaces) if replaces else None,
        requested_at=datetime.now(UTC),
        requested_by="t",
        reason="r",
    )


@pytest.fixture
def outcomes() -> list[tuple[str, str]]:
    return []


def follower_of(
    serving_model: ServingModel, reader: ListReader, broken: set[str], outcomes: list[tuple[str, str]]
) -> ModelFollower:
    def load(wanted: ModelRef) -> ServingModel:
        if wanted.version in broken:
            raise ModelVerificationError(f"{wanted.version} is broken")
        manifest = serving_model.manifest.model_copy(update={"version": wanted.version})
        return dataclasses.replace(serving_model, manifest=manifest)

    return ModelFollower(reader, load, lambda role, result: outcomes.append((str(role), result)))  # type: ignore[arg-type]


@pytest.fixture
def fallback(serving_model: ServingModel) -> str:
    return str(serving_model.directory)


START = [
    # (records on the topic, versions that fail verification, champion served, challenger served)
    ([], set(), "test-run", None),  # nothing on the topic: MODEL_URI
    ([record(CHAMPION, "B")], set(), "B", None),
    ([record(CHAMPION, "B", replaces="A")], {"B"}, "A", None),  # what the running scorers kept
    ([record(CHAMPION, "B", replaces="A")], {"A", "B"}, "test-run", None),
    ([record(CHAMPION, "B"), record(CHALLENGER, "C")], set(), "B", "C"),
    ([record(CHAMPION, "B"), record(CHALLENGER, "C"), record(CHALLENGER, None)], set(), "B", None),
    ([record(CHAMPION, "B"), record(CHALLENGER, "C")], {"C"}, "B", None),
    ([InvalidControl(None, "not a model control record: junk"), record(CHAMPION, "B")], set(), "B", None),
]


@pytest.mark.parametrize(("existing", "broken", "champion", "challenger"), START)
def test_start(
    serving_model: ServingModel,
    fallback: str,
    outcomes: list[tuple[str, str]],
    existing: list[ControlRecord],
    broken: set[str],
    champion: str,
    challenger: str | None,
) -> None:
    follower = follower_of(serving_model, ListReader(existing), broken, outcomes)
    follower.start(fallback, timeout_s=1)
    assert follower.champion.version == champion
    assert (follower.challenger.version if follower.challenger else None) == challenger
    assert outcomes.count(("champion", "refused")) == len(broken & {"A", "B"})


def test_a_broken_model_uri_with_nothing_else_cannot_start(serving_model: ServingModel, tmp_path: Path) -> None:
    follower = follower_of(serving_model, ListReader([]), set(), [])
    with pytest.raises(ModelVerificationError) as refused:
        follower.start(str(tmp_path), timeout_s=1)
    assert str(refused.value) == (
        f"MODEL_URI={tmp_path}: no model at {tmp_path}: expected manifest.json there or a 'latest' link"
    ), "the setting to change, by name"


def test_a_start_with_nothing_verified_says_every_refusal(serving_model: ServingModel, tmp_path: Path) -> None:
    reader = ListReader([record(CHAMPION, "B", replaces="A")])
    follower = follower_of(serving_model, reader, {"A", "B"}, [])
    with pytest.raises(ModelVerificationError) as refused:
        follower.start(str(tmp_path), timeout_s=1)
    said = str(refused.value)
    assert said.startswith(f"MODEL_URI={tmp_path}: no model at ")
    assert said.endswith("; refused before it, from the control topic: B: B is broken; A: A is broken"), said


def test_records_that_arrive_swap_refuse_or_clear(
    serving_model: ServingModel, fallback: str, outcomes: list[tuple[str, str]]
) -> None:
    reader = ListReader([record(CHAMPION, "A")])
    follower = follower_of(serving_model, reader, {"X"}, outcomes)
    follower.start(fallback, timeout_s=1)
    steps: list[tuple[list[ControlRecord], bool, str, str | None]] = [
        ([record(CHALLENGER, "B")], True, "A", "B"),
        ([record(CHAMPION, "X")], False, "A", "B"),  # refused: nothing changes
        ([InvalidControl(CHALLENGER, "not a model control record: junk")], False, "A", "B"),  # counted as its role
        ([record(CHAMPION, "B")], True, "B", None),  # adopted; a challenger equal to the champion is not scored
        ([record(CHAMPION, "A"), record(CHALLENGER, None)], True, "A", None),
        ([record(CHAMPION, "A")], False, "A", None),
    ]
    for arriving, changed, champion, challenger in steps:
        reader.arriving = arriving
        assert follower.poll() is changed, arriving
        assert follower.champion.version == champion
        assert (follower.challenger.version if follower.challenger else None) == challenger
    assert outcomes == [  # the model chosen at start is not a swap
        ("challenger", "swapped"),
        ("champion", "refused"),
        ("challenger", "invalid_record"),
        ("champion", "swapped"),
        ("champion", "swapped"),
        ("challenger", "cleared"),
    ]
