"""`make run` scores flights its versions never trained on: both are trained on the flights before the replay's
first day, one with the stream features and one without, kept and reused while they verify, trained again when
refused; the replay sends the outcomes on the simulated clock, the longest window's days before it first."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from rich.console import Console

import producer.demo_models as demo_models
from producer.demo import BAD_EVENTS, REPLAY_SECONDS, replay_schedule
from producer.demo_models import CHALLENGER, CHAMPION, REPLAY_FROM, demo_versions
from schemas.outcome import FlightOutcome
from tests.support.dataset import DATASET
from training.manifest import ModelVerificationError, read_manifest
from training.stream_backfill import DEFAULT_LEAD_MINUTES
from training.stream_features import LONGEST_WINDOW_SECONDS


def test_the_versions_train_before_the_replay_one_with_stream_features(run_models: Path) -> None:
    champion, challenger = read_manifest(run_models / CHAMPION), read_manifest(run_models / CHALLENGER)
    assert champion["scheduled_before"] == challenger["scheduled_before"] == REPLAY_FROM.isoformat()
    assert champion["stream_features"]["lead_minutes"] == DEFAULT_LEAD_MINUTES
    assert challenger["stream_features"] is None
    _, schedule = replay_schedule(DATASET, 3000, "in", "out")
    flights = [item for item in _events(schedule) if item.headers]  # the bad events carry no simulated time
    scheduled = [date.fromisoformat(orjson.loads(item.value)["scheduled_departure"][:10]) for item in flights]
    assert len(scheduled) == 3000
    assert min(scheduled) >= REPLAY_FROM, "a replayed flight the versions trained on"


def test_verified_versions_are_reused_and_a_refused_one_is_trained_again(
    run_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    shutil.copytree(run_models, models, symlinks=True)
    trained: list[tuple[str, Any]] = []

    def train(_data: Path, directory: Path, version: str, **options: Any) -> SimpleNamespace:
        trained.append((version, options["lead_minutes"]))
        (directory / version).mkdir()
        return SimpleNamespace(directory=directory / version)

    monkeypatch.setattr(demo_models, "train", train)
    console = Console(record=True, width=400)
    found = demo_versions(DATASET, models, console)
    assert (found.champion, found.challenger) == (models / CHAMPION, models / CHALLENGER) and not trained

    lookup = models / CHALLENGER / "lookup.json"
    lookup.write_bytes(lookup.read_bytes() + b" ")
    demo_versions(DATASET, models, console)
    assert trained == [(CHALLENGER, None)]
    output = console.export_text()
    assert f"{CHALLENGER} refused, training it again" in output and "sha256" in output


def test_a_version_trained_on_the_replayed_flights_is_refused(
    run_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    shutil.copytree(run_models, models, symlinks=True)
    monkeypatch.setattr(demo_models, "REPLAY_FROM", REPLAY_FROM + timedelta(days=1))
    with pytest.raises(ModelVerificationError, match="was trained on the flights before 2017-12-01"):
        demo_models._trained_as_wanted(models / CHAMPION, DEFAULT_LEAD_MINUTES)
    monkeypatch.undo()
    with pytest.raises(ModelVerificationError, match="does not read the stream features"):
        demo_models._trained_as_wanted(models / CHAMPION, None)


def test_the_replay_sends_the_earlier_outcomes_first_and_each_event_after_those_due_before_it() -> None:
    replayed, schedule = replay_schedule(DATASET, 3000, "in", "out")
    events = _events(schedule)
    assert replayed == 3000 and len(events) == replayed + len(BAD_EVENTS)
    first = next(i for i, item in enumerate(schedule) if item.topic == "in")
    earlier = [FlightOutcome.model_validate_json(item.value) for item in schedule[:first]]
    days = {o.actual_departure.date() for o in earlier}
    window_days = LONGEST_WINDOW_SECONDS // 86_400
    assert min(days) <= REPLAY_FROM - timedelta(days=window_days) and max(days) < REPLAY_FROM + timedelta(days=1)
    assert schedule[first].after_delivery, "the first event waits for the earlier outcomes' delivery"
    assert max(item.due_s for item in schedule) < REPLAY_SECONDS
    assert [(item.key, item.value) for item in events[-len(BAD_EVENTS) :]] == BAD_EVENTS


def _events(schedule: list[Any]) -> list[Any]:
    return [item for item in schedule if item.topic == "in"]
