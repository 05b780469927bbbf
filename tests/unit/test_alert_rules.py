"""The alert rules through Prometheus's own tool: promtool checks the rules and the compose stack's configuration,
and runs the rules' unit tests (alerts.test.yml), where every alert fires on a series that should fire it and
stays silent on a near miss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.support import promtool as tool

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
