"""What a promotion records as the version it replaces: the one rollback returns to."""

from __future__ import annotations

import pytest

from schemas.model_control import ModelControl, ModelRole
from tests.support.lineups import control, ref
from training.promotion import replaced

CHAMPION = ModelRole.CHAMPION
CASES: dict[str, tuple[ModelControl | None, str, str | None]] = {
    "no record yet: nothing to go back to": (None, "v1", None),
    "a new version replaces the one that held the role": (control(CHAMPION, "v1"), "v2", "v1"),
    "and the one before that is not kept": (control(CHAMPION, "v2", "v1"), "v3", "v2"),
    "the same version again keeps the target its record names": (control(CHAMPION, "v2", "v1"), "v2", "v1"),
    "the same version again, never replaced anything: still nothing": (control(CHAMPION, "v1"), "v1", None),
}


@pytest.mark.parametrize("case", CASES)
def test_the_replaced_version(case: str) -> None:
    held, new, expected = CASES[case]
    found = replaced(held, ref(new))
    assert (found.version if found else None) == expected


def test_a_cleared_role_replaces_nothing() -> None:
    cleared = control(ModelRole.CHALLENGER, "v1").model_copy(update={"model": None})
    assert replaced(cleared, ref("v2")) is None
