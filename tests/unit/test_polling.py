"""The tests' one way of waiting: it returns once the condition holds and fails with what was awaited and seen."""

from __future__ import annotations

import pytest

from tests.support.polling import wait_until


def test_it_returns_as_soon_as_the_condition_holds() -> None:
    answers = iter([False, False, True])
    assert wait_until("the third look", lambda: next(answers), timeout_s=5, every_s=0.01) < 1


def test_it_fails_with_what_was_awaited_and_what_was_seen() -> None:
    with pytest.raises(AssertionError, match=r"(?s)the impossible: not within 0 s\n3 of 5 records"):
        wait_until("the impossible", lambda: False, timeout_s=0.05, every_s=0.01, seen=lambda: "3 of 5 records")
