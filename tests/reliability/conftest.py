"""Fixtures of the chaos and security tests: the figures they measure (the recorder is `tests.support.recorder`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.recorder import FIGURES_FILE

# One run's record: when it started, each reliability test's outcome, and the figures the scenarios measured.
# It replaces the previous run's file whole, so the page never mixes runs.
RUN: dict[str, Any] = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "outcomes": {}, "figures": {}}


@pytest.fixture(scope="session")
def figures() -> dict[str, Any]:
    """Where a scenario puts the figures it measured (docs/reliability.md shows them)."""
    figures: dict[str, Any] = RUN["figures"]
    return figures


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep each reliability test's outcome: its call's, or its setup's when the setup failed or skipped it."""
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        test = report.nodeid.split("tests/reliability/", 1)[-1]
        RUN["outcomes"][test] = report.outcome


def pytest_sessionfinish(session: pytest.Session) -> None:
    if RUN["outcomes"]:
        FIGURES_FILE.parent.mkdir(exist_ok=True)
        FIGURES_FILE.write_text(json.dumps(RUN, indent=2) + "\n")
