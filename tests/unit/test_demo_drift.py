"""`make run`'s drift lines: a line a version, what drifts first with its threshold, then what is stable."""

from __future__ import annotations

from producer.demo_monitor import drift_summary

PSI = {
    ("stream-v", "month"): 15.441,
    ("stream-v", "hour"): 0.108,
    ("stream-v", "airline"): 0.842,
    ("stream-v", "score"): 0.023,
    ("event-v", "month"): 15.201,
    ("event-v", "hour"): 0.106,
}
THRESHOLDS = {key: 0.2 for key in PSI}


def test_each_version_says_what_drifts_by_falling_psi_then_what_is_stable() -> None:
    lines = drift_summary(PSI, THRESHOLDS, {("stream-v", "month"), ("stream-v", "airline"), ("event-v", "month")})
    assert lines == [
        "\n  event-v: [red]drifting[/] (above 0.20) month 15.20; stable hour 0.11",
        "\n  stream-v: [red]drifting[/] (above 0.20) month 15.44, airline 0.84; stable hour 0.11, score 0.02",
    ]


def test_thresholds_that_differ_are_said_feature_by_feature() -> None:
    thresholds = {**THRESHOLDS, ("stream-v", "airline"): 0.25}
    lines = drift_summary(PSI, thresholds, {("stream-v", "month"), ("stream-v", "airline")})
    assert lines[1] == (
        "\n  stream-v: [red]drifting[/] month 15.44 (above 0.20), airline 0.84 (above 0.25); "
        "stable hour 0.11, score 0.02"
    )


def test_a_version_where_nothing_drifts_says_so() -> None:
    assert drift_summary(PSI, THRESHOLDS, set()) == [
        "\n  event-v: nothing drifts; stable month 15.20, hour 0.11",
        "\n  stream-v: nothing drifts; stable month 15.44, airline 0.84, hour 0.11, score 0.02",
    ]


def test_no_profile_is_one_line() -> None:
    assert drift_summary({}, {}, set()) == [
        "\n  none: no version served has a reference profile (trained before they were recorded?)"
    ]
