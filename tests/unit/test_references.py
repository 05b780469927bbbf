"""Which champion the monitor compares the stream with: the control topic's, else `MONITOR_MODEL_URI`'s, else the
one the running scorers say they serve on the fleet topic, followed as it changes and each version tried once."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pytest

from kafka_common.model_control import ControlRecord
from monitor.references import References
from schemas.model_control import ModelControl, ModelRef, ModelRole
from tests.support.lineups import T0
from tests.support.versions import pinned, version_of


class Said:
    """The fleet as the monitor reads it: the champion the running scorers agree on, or none."""

    def __init__(self, champion: ModelRef | None) -> None:
        self.champion = champion
        self.polls = 0

    def start(self, timeout_s: float) -> None:
        pass

    def poll(self) -> None:
        self.polls += 1

    def served_champion(self, now: datetime) -> ModelRef | None:
        return self.champion

    def close(self) -> None:
        pass


class Control:
    """The control topic as the monitor reads it: its records at start, none after."""

    def __init__(self, champion: ModelRef | None) -> None:
        self.records: list[ControlRecord] = []
        if champion is not None:
            self.records.append(
                ModelControl(role=ModelRole.CHAMPION, model=champion, requested_at=T0, requested_by="person@host")
            )

    def read_to_end(self, timeout_s: float) -> list[ControlRecord]:
        return list(self.records)

    def poll(self) -> list[ControlRecord]:
        return []

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def versions(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    models = tmp_path_factory.mktemp("models")
    return {version: version_of(model_dir, models, version) for version in ("v1", "v2")}


# (the control topic's champion, MONITOR_MODEL_URI's version, the fleet's, the champion the monitor takes)
PRECEDENCE = [
    (None, None, "v1", "v1"),  # scorers started from their MODEL_URI, nothing else says
    (None, None, None, None),  # no scorer runs, or they disagree
    (None, "v2", "v1", "v2"),  # the setting, when given, names it
    ("v2", None, "v1", "v2"),  # a control record names it
    ("v2", "v1", "v1", "v2"),  # before the setting too
]


@pytest.mark.parametrize(("record", "setting", "fleet", "champion"), PRECEDENCE)
def test_the_champion_comes_from_the_control_topic_else_the_setting_else_the_fleet(
    versions: dict[str, Path], record: str | None, setting: str | None, fleet: str | None, champion: str | None
) -> None:
    references = References(
        Control(pinned(versions[record]) if record else None),
        str(versions[setting]) if setting else None,
        Said(pinned(versions[fleet]) if fleet else None),
    )
    references.start(1.0)
    assert references.champion == champion
    if champion is not None:
        assert references.champion_profile is not None, "its reference profile, for drift"
        assert references.serves(ModelRole.CHAMPION, champion)


def test_the_fleets_champion_is_followed_as_it_changes(versions: dict[str, Path]) -> None:
    fleet = Said(pinned(versions["v1"]))
    references = References(None, None, fleet)
    references.start(1.0)
    assert references.champion == "v1"
    fleet.champion = pinned(versions["v2"])  # the scorers redeployed with another MODEL_URI
    references.refresh()
    assert (references.champion, sorted(references.by_version)) == ("v2", ["v1", "v2"])
    fleet.champion = None  # they stopped: the last champion they served stays
    references.refresh()
    assert references.champion == "v2" and fleet.polls == 2


def test_a_fleet_champion_that_cannot_be_loaded_is_tried_once(
    versions: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    wrong = pinned(versions["v1"]).model_copy(update={"manifest_sha256": "0" * 64})
    references = References(None, None, Said(wrong))
    with caplog.at_level(logging.WARNING, logger="monitor"):
        references.start(1.0)
        for _ in range(3):
            references.refresh()
    assert references.champion is None
    refusals = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(refusals) == 1 and "sha256" in refusals[0], refusals
