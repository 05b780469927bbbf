"""The alert rules and the dashboard name only metrics and labels the scorer and the monitor export."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from consumer import app as scorer_app
from consumer.metrics import ScorerMetrics
from monitor import app as monitor_app
from monitor.metrics import MonitorMetrics
from stream_runtime.metrics import RuntimeMetrics
from tests.support.docs import anchor, headings
from tests.support.packages import ROOT
from tests.support.prometheus import dashboard_expressions

HERE = Path(__file__).resolve().parents[2] / "monitor" / "observability"
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"), "gauge": ("",)}
SELECTOR = re.compile(r"(flightdelay_[a-z0-9_]+)(\{[^}]*\})?")


def exported() -> dict[str, set[str]]:
    """Every series name the two services can export, with the labels it carries."""
    names: dict[str, set[str]] = {}
    registries: list[CollectorRegistry] = [ScorerMetrics().registry, MonitorMetrics().registry]
    for registry, prefix in zip(registries, (scorer_app.METRIC_PREFIX, monitor_app.METRIC_PREFIX), strict=True):
        RuntimeMetrics(registry, prefix, lambda: True)  # what the runtime adds to each service's registry
    for registry in registries:
        for name, collector in registry._names_to_collectors.items():  # prometheus_client has no public view
            names[name] = set(getattr(collector, "_labelnames", ())) | {"le"}
        for family in registry.collect():  # custom collectors (the latency histogram) are not indexed above
            labels = {label for sample in family.samples for label in sample.labels}
            for suffix in SUFFIXES.get(family.type, ("",)):
                names.setdefault(family.name + suffix, set()).update(labels | {"le"})
    return names


def expressions() -> list[tuple[str, str]]:
    rules = yaml.safe_load((HERE / "alerts.yml").read_text())
    found = [(rule["alert"], rule["expr"]) for group in rules["groups"] for rule in group["rules"]]
    return found + dashboard_expressions()


@pytest.mark.parametrize(("where", "expr"), expressions())
def test_every_expression_names_exported_metrics_and_labels(where: str, expr: str) -> None:
    names = exported()
    used = SELECTOR.findall(expr)
    assert used, f"{where}: no flightdelay_ metric in {expr!r}"
    for name, selector in used:
        assert name in names, f"{where}: {name} is not exported (exported: {sorted(names)})"
        labels = set(re.findall(r"(\w+)\s*(?:=~|!=|=)", selector))
        assert labels <= names[name], f"{where}: {name} has no label {labels - names[name]}"
    for grouping in re.findall(r"(?:by|on)\s*\(([^)]*)\)", expr):
        for label in filter(None, (part.strip() for part in grouping.split(","))):
            assert any(label in names[name] for name, _ in used), f"{where}: no metric has the label {label}"


def test_every_alert_has_its_series_on_the_dashboard() -> None:
    """Whoever an alert pages opens the dashboard next: each series a rule reads has a panel that plots it."""
    plotted = {name for _, expr in dashboard_expressions() for name, _ in SELECTOR.findall(expr)}
    rules = yaml.safe_load((HERE / "alerts.yml").read_text())
    missing = {
        rule["alert"]: sorted({name for name, _ in SELECTOR.findall(rule["expr"])} - plotted)
        for group in rules["groups"]
        for rule in group["rules"]
    }
    assert not {alert: names for alert, names in missing.items() if names}


def test_rules_say_how_bad_and_what_to_look_at() -> None:
    rules: dict[str, Any] = yaml.safe_load((HERE / "alerts.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    wanted = {
        "ScorerFallingBehind",
        "MonitorFallingBehind",
        "DeadLetterRatioHigh",
        "ScorerNotReady",
        "OnlineRecallBelowOffline",
    }
    assert {a["alert"] for a in alerts} >= wanted | {"ChallengerBeatsChampion"}
    for alert in alerts:
        assert alert["labels"]["severity"] in {"info", "warning", "critical"}
        assert alert["annotations"]["summary"]


def test_every_alert_has_its_runbook_and_the_runbook_no_other_section() -> None:
    """Whoever an alert pages follows its `runbook_url` to what it means, where to look and what to do."""
    rules = yaml.safe_load((HERE / "alerts.yml").read_text())["groups"]
    alerts = [rule for group in rules for rule in group["rules"]]
    runbook = ROOT / "docs" / "alerts.md"
    assert headings(runbook, level=2) == [alert["alert"] for alert in alerts], "one section a rule, in their order"
    for alert in alerts:
        assert alert["annotations"]["runbook_url"] == f"docs/alerts.md#{anchor(alert['alert'])}", alert["alert"]
        assert set(alert["annotations"]) == {"summary", "runbook_url"}, alert["alert"]


def test_the_dashboard_panels_are_distinct_and_templated() -> None:
    dashboard = json.loads((HERE / "dashboard.json").read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all(panel["datasource"]["uid"] == "${datasource}" for panel in dashboard["panels"])


def test_the_counters_alerts_take_increases_of_are_exported_at_zero_before_their_first_event() -> None:
    """Prometheus sees no increase in a series whose first sample already holds the burst: `rate()` and
    `increase()` would miss the first dead letters of a kind, the first refused model, the first failed write."""
    from prometheus_client import generate_latest

    scorer = generate_latest(ScorerMetrics().registry).decode()
    assert 'flightdelay_events_dead_lettered_total{reason="not_json"} 0.0' in scorer
    assert 'flightdelay_events_dead_lettered_total{reason="unscorable"} 0.0' in scorer
    assert 'flightdelay_model_swaps_total{result="refused",role="champion"} 0.0' in scorer
    assert 'flightdelay_model_swaps_total{result="invalid_record",role="unknown"} 0.0' in scorer
    monitor = generate_latest(MonitorMetrics().registry).decode()
    assert 'flightdelay_monitor_autopilot_writes_total{result="failed"} 0.0' in monitor
