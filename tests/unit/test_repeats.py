"""A replaced version's figures and a past lineup's comparison go out again only when they change; what the
scorers serve goes out every interval."""

from __future__ import annotations

import pytest

from monitor.join import Joined, Outcome, Prediction
from monitor.references import References
from monitor.repeats import last_report_stands
from monitor.windows import ModelWindows
from schemas.model_control import ModelControl, ModelRole
from tests.support.lineups import control


@pytest.mark.parametrize(
    ("reported", "joined", "served", "stands"),
    [
        (None, 0, False, False),  # never reported: it goes out
        (None, 10, True, False),
        (10, 10, False, True),  # replaced, and nothing joined since: its last report says it all
        (10, 12, False, False),  # replaced, but its last predictions' outcomes keep arriving
        (10, 10, True, False),  # served: every interval, changed or not
        (10, 12, True, False),
    ],
)
def test_when_the_last_report_stands(reported: int | None, joined: int, served: bool, stands: bool) -> None:
    assert last_report_stands(reported, joined, served) is stands


def _references(lineup: dict[ModelRole, ModelControl], champion: str | None) -> References:
    references = References(None, None)
    references.lineup, references.champion = lineup, champion
    return references


CHAMPION_V2 = control(ModelRole.CHAMPION, "v2", replaces="v1")
CHALLENGER_V3 = control(ModelRole.CHALLENGER, "v3")
BOTH = {ModelRole.CHAMPION: CHAMPION_V2, ModelRole.CHALLENGER: CHALLENGER_V3}
CLEARED = control(ModelRole.CHALLENGER, "v3").model_copy(update={"model": None, "replaces": CHALLENGER_V3.model})


@pytest.mark.parametrize(
    ("lineup", "champion", "role", "version", "serves"),
    [
        ({ModelRole.CHAMPION: CHAMPION_V2}, "v2", ModelRole.CHAMPION, "v2", True),
        ({ModelRole.CHAMPION: CHAMPION_V2}, "v2", ModelRole.CHAMPION, "v1", False),  # replaced
        ({ModelRole.CHAMPION: CHAMPION_V2}, "v2", ModelRole.CHALLENGER, "v2", False),  # promoted: not in shadow
        (
            {ModelRole.CHAMPION: CHAMPION_V2, ModelRole.CHALLENGER: CHALLENGER_V3},
            "v2",
            ModelRole.CHALLENGER,
            "v3",
            True,
        ),
        ({ModelRole.CHAMPION: CHAMPION_V2, ModelRole.CHALLENGER: CLEARED}, "v2", ModelRole.CHALLENGER, "v3", False),
        ({}, "v0", ModelRole.CHAMPION, "v0", True),  # no record: the champion `MODEL_URI` names
        ({}, "v0", ModelRole.CHALLENGER, "v0", False),
        ({}, None, ModelRole.CHAMPION, "v0", False),
    ],
)
def test_which_versions_the_scorers_serve(
    lineup: dict[ModelRole, ModelControl], champion: str | None, role: ModelRole, version: str, serves: bool
) -> None:
    assert _references(lineup, champion).serves(role, version) is serves


def test_a_window_counts_every_pair_joined_past_its_bound() -> None:
    windows = ModelWindows(window_events=2, window_s=3600.0, keep=3)
    for i in range(5):
        prediction = Prediction(f"f{i}", ModelRole.CHAMPION, "v1", 0.5, 0.3, float(i), ("p", 0, i))
        windows.add(Joined(prediction, Outcome(f"f{i}", False, 0.0, float(i), ("o", 0, i))))
    assert windows.joined((ModelRole.CHAMPION, "v1")) == 5
