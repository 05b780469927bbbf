"""Which fleet statuses still speak for a running scorer: a status a killed scorer left behind is told by its age,
in reports missed, and a first promotion does not count what it said."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kafka_common import model_fleet
from kafka_common.model_fleet import STALE_AFTER_REPORTS, is_stale, running, served_champion
from schemas.model_control import ModelRef, ServingStatus

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def ref(version: str) -> ModelRef:
    return ModelRef(version=version, uri=f"/models/{version}", manifest_sha256="0" * 64)


def status(instance: str, version: str, age_s: float, report_every_s: float | None = 60.0) -> ServingStatus:
    written = NOW - timedelta(seconds=age_s)
    return ServingStatus(
        instance=instance, group_id="g", champion=ref(version), since=written, written_at=written,
        report_every_s=report_every_s,
    )  # fmt: skip


STALENESS = [
    # (age of the status in seconds, its report interval, left behind?)
    (0, 60.0, False),
    (59, 60.0, False),  # the next report is not due yet
    (150, 60.0, False),  # one or two reports lost, or late
    (STALE_AFTER_REPORTS * 60, 60.0, False),  # the limit itself still counts as running
    (STALE_AFTER_REPORTS * 60 + 1, 60.0, True),
    (4, 1.0, True),
    (86_400, None, False),  # a status written only on change cannot tell
    (-5, 60.0, False),  # its clock a little ahead of the reader's
]


@pytest.mark.parametrize(("age_s", "every_s", "left_behind"), STALENESS)
def test_a_status_is_left_behind_after_three_missed_reports(
    age_s: float, every_s: float | None, left_behind: bool
) -> None:
    assert is_stale(status("a", "v1", age_s, every_s), NOW) is left_behind


def test_a_first_promotion_counts_only_the_scorers_that_still_report() -> None:
    killed = status("killed", "v0", age_s=3_600)  # served MODEL_URI's version of the day it was killed
    live = {"g/a": status("a", "v1", age_s=10), "g/b": status("b", "v1", age_s=50)}
    fleet = {**live, "g/killed": killed}
    assert running(fleet, NOW) == live
    assert model_fleet.left_behind(fleet, NOW) == {"g/killed": killed}, "the rest of the fleet"
    assert served_champion(live, NOW) == ref("v1")
    assert served_champion(fleet, NOW) == ref("v1"), "the killed scorer's v0 does not make the fleet disagree"
    assert served_champion({**live, "g/c": status("c", "v2", age_s=5)}, NOW) is None, "running scorers that differ"
