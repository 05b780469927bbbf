"""What a scorer does with each model control record: one row per case."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from consumer.rollout import Lineup, Step, plan, start_candidates
from schemas.model_control import ModelControl, ModelRef, ModelRole


def ref(version: str, digest: str = "a", uri: str | None = None) -> ModelRef:
    return ModelRef(version=version, uri=uri or f"/models/{version}", manifest_sha256=digest * 64)


def record(role: ModelRole, model: ModelRef | None, replaces: ModelRef | None = None) -> ModelControl:
    at = datetime(2026, 11, 28, tzinfo=UTC)
    return ModelControl(role=role, model=model, replaces=replaces, requested_at=at, requested_by="t", reason="r")


A, B, C = ref("A"), ref("B"), ref("C")
CHAMPION, CHALLENGER = ModelRole.CHAMPION, ModelRole.CHALLENGER

ROWS = [
    # (served now, record, expected step, the model it acts on)
    (Lineup(A), record(CHAMPION, A), Step.KEEP, A),
    (Lineup(A), record(CHAMPION, ref("A", uri="s3://b/models/A/")), Step.KEEP, A),  # same model, other place
    (Lineup(A), record(CHAMPION, B), Step.LOAD, B),
    (Lineup(A), record(CHAMPION, ref("A", "b")), Step.LOAD, ref("A", "b")),  # same name, other manifest
    (Lineup(A, B), record(CHAMPION, B), Step.ADOPT, B),  # the challenger is promoted: no second fetch
    (Lineup(A, B), record(CHAMPION, C), Step.LOAD, C),
    (Lineup(A), record(CHALLENGER, None), Step.KEEP, None),
    (Lineup(A, B), record(CHALLENGER, None), Step.CLEAR, None),
    (Lineup(A, B), record(CHALLENGER, B), Step.KEEP, B),
    (Lineup(A, B), record(CHALLENGER, C), Step.LOAD, C),
    (Lineup(A), record(CHALLENGER, B), Step.LOAD, B),
    (Lineup(A), record(CHALLENGER, A), Step.ADOPT, A),  # allowed, but nothing is shadowed (see below)
]


@pytest.mark.parametrize(("lineup", "control", "step", "model"), ROWS)
def test_plan(lineup: Lineup, control: ModelControl, step: Step, model: ModelRef | None) -> None:
    decided = plan(lineup, control)
    assert (decided.step, decided.role) == (step, control.role)
    assert decided.model == model or (model is not None and model.same_model(decided.model))
    assert decided.why


@pytest.mark.parametrize(
    ("lineup", "shadowing"),
    [(Lineup(A), False), (Lineup(A, B), True), (Lineup(A, ref("A", uri="elsewhere")), False)],
)
def test_a_challenger_that_is_the_champion_is_not_scored_twice(lineup: Lineup, shadowing: bool) -> None:
    assert lineup.shadowing is shadowing


@pytest.mark.parametrize(
    ("champion", "candidates"),
    [
        (None, []),
        (record(CHAMPION, B), [B]),
        (record(CHAMPION, B, replaces=A), [B, A]),
    ],
)
def test_start_tries_the_champion_then_the_one_it_replaced(
    champion: ModelControl | None, candidates: list[ModelRef]
) -> None:
    assert start_candidates(champion) == candidates


def test_a_champion_record_must_name_a_model() -> None:
    with pytest.raises(ValidationError, match="a champion record must name a model"):
        record(CHAMPION, None)
    with pytest.raises(ValidationError, match="manifest_sha256"):
        ModelRef(version="A", uri="/m/A", manifest_sha256="not a digest")
