"""The alert rules through Prometheus's own tool: promtool checks the rules and the compose stack's configuration,
and runs the rules' unit tests (alerts.test.yml), where every alert fires on a series that should fire it and
stays silent on a near miss."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tests.support import promtool as tool
from tests.support.dataset import DATASET
from training.dataset import load_flights
from training.departures_table import departure_age_s
from training.stream_backfill import DEFAULT_LEAD_MINUTES, event_times, outcome_times

HERE = Path(__file__).resolve().parents[2] / "monitor" / "observability"


def promtool(*args: str) -> tuple[int, str]:
    done = tool.promtool(*args, cwd=HERE)
    return done.returncode, (done.stdout + done.stderr).decode()


def test_the_rules_are_valid() -> None:
    code, output = promtool("check", "rules", "alerts.yml")
    rules: dict[str, Any] = yaml.safe_load((HERE / "alerts.yml").read_text())
    count = sum(len(group["rules"]) for group in rules["groups"])
    assert code == 0 and f"SUCCESS: {count} rules found" in output, output


def test_the_compose_stacks_prometheus_configuration_is_valid() -> None:
    """Syntax only: its rule file path is the container's, /etc/prometheus/alerts.yml."""
    code, output = promtool("check", "config", "--syntax-only", "prometheus.yml")
    assert code == 0, output


def test_every_alert_fires_and_stays_silent_where_its_unit_tests_say() -> None:
    code, output = promtool("test", "rules", "alerts.test.yml")
    assert code == 0 and "SUCCESS" in output, output


def test_every_alert_has_a_firing_case_and_a_silent_one() -> None:
    rules: dict[str, Any] = yaml.safe_load((HERE / "alerts.yml").read_text())
    tests: dict[str, Any] = yaml.safe_load((HERE / "alerts.test.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    cases = [case for test in tests["tests"] for case in test["alert_rule_test"]]
    fires = {case["alertname"] for case in cases if case.get("exp_alerts")}
    silent = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert (fires, silent) == (alerts, alerts)


def _expression(alert: str) -> str:
    rules: dict[str, Any] = yaml.safe_load((HERE / "alerts.yml").read_text())
    (expr,) = (rule["expr"] for group in rules["groups"] for rule in group["rules"] if rule.get("alert") == alert)
    return str(expr)


def _threshold(alert: str) -> float:
    """The number a rule's expression compares with (`<metric> > <number>`)."""
    expr = _expression(alert)
    found = re.fullmatch(r"\S+ > (\d+(?:\.\d+)?)", expr.strip())
    assert found, f"{alert}: {expr!r} is not a metric above a number"
    return float(found[1])


@pytest.mark.parametrize(
    ("newest_event", "newest_departure", "age"),
    [
        (None, None, None),  # no event yet: nothing to say
        (None, 5_000, None),
        (0, None, math.inf),  # an event at moment 0 is an event
        (-7_200, -10_800, 3_600.0),
        (10_000, None, math.inf),  # events, and never a departure
        (10_000, 4_000, 6_000.0),
        (10_000, 10_000, 0.0),
        (10_000, 12_000, 0.0),  # a departure known after the newest event (the events' topic is behind)
    ],
)
def test_the_age_both_stopped_feed_alerts_read(
    newest_event: int | None, newest_departure: int | None, age: float | None
) -> None:
    assert departure_age_s(newest_event, newest_departure) == age


@pytest.mark.parametrize("alert", ["DeparturesStopped", "OutcomesNotArriving"])  # the scorer's, the monitor's
def test_a_stopped_departures_feed_stays_silent_through_the_longest_quiet_of_the_real_year(alert: str) -> None:
    """Each 2017 flight event, known its lead before its departure, against the last departure known before it
    (what both rules read, by `departure_age_s`): the longest such gap is below each rule's threshold, so the feed
    of a normal year never fires them."""
    frame = load_flights(DATASET)
    events = np.sort(event_times(frame, DEFAULT_LEAD_MINUTES))
    departures = np.sort(outcome_times(frame)[0])
    last = np.searchsorted(departures, events, side="left") - 1
    gaps = events[last >= 0] - departures[last[last >= 0]]
    assert 2 * 3600 < gaps.max() < _threshold(alert), f"longest gap {gaps.max() / 3600:.2f} h"


def test_a_lasting_inconsistency_stays_firing_through_the_nights_of_the_real_year() -> None:
    """The monitor checks a prediction when its outcome joins it, at the flight's actual departure. At every
    moment of 2017 the rule's longest window holds more checks than the fewest differing values it fires on, and
    one more (`increase` misses a step made before the window's first scrape), so a disagreement that lasts is
    not resolved by a quiet night."""
    windows = re.findall(r"mismatches_total\[(\d+)h\]\)\) > (\d+)\b", _expression("StreamFeaturesInconsistent"))
    assert windows, "the rule compares no count of differing values over hours"
    hours, fewest = max((int(h), int(n)) for h, n in windows)
    departures = np.sort(outcome_times(load_flights(DATASET))[0])
    window = hours * 3600
    moments = departures[1:] - 1  # just before each departure, after the quietest stretch before it
    moments = moments[moments - window >= departures[0]]
    checks = np.searchsorted(departures, moments, side="right") - np.searchsorted(
        departures, moments - window, side="right"
    )
    gaps = np.diff(departures)
    assert gaps.max() > 2 * 3600 and checks.min() > fewest + 1, (gaps.max() / 3600, checks.min())
