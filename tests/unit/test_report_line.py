"""The line `flightdelay-monitor report` ends with: what the page holds, and why it has no online figure yet."""

from __future__ import annotations

from pathlib import Path

from monitor.cli import written


def test_a_page_with_joined_predictions_says_how_many() -> None:
    line = written(Path("build/monitor-report.html"), 13_642, 2, 6_821, "flights.departures", True)
    assert line == "build/monitor-report.html: 13,642 joined predictions of 2 versions, 6,821 flights"


def test_a_page_with_nothing_joined_says_what_the_joins_wait_for() -> None:
    line = written(Path("r.html"), 0, 0, 3_000, "flights.departures", True)
    assert line == (
        "r.html: 0 joined predictions of 0 versions, 3,000 flights (a prediction is joined once its flight's "
        "outcome is on flights.departures; the online figures wait)"
    )


def test_a_page_without_a_champion_says_where_one_is_named() -> None:
    line = written(Path("r.html"), 331, 1, 3_331, "flights.departures", False)
    assert line == (
        "r.html: 331 joined predictions of 1 version, 3,331 flights; no drift or offline figures: no champion known "
        "(from the control topic, else MONITOR_MODEL_URI, else the running scorers)"
    )
