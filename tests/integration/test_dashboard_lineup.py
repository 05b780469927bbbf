"""The dashboard draws the lineup the scorers serve now. The monitor keeps a replaced version's figures (its last
window, frozen) and a past lineup's last comparison; on a real Prometheus scraping the services' own metrics
classes, holding both a past and the present lineup, every panel's query answers for the present one alone."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

from consumer.metrics import ScorerMetrics
from monitor.drift import Drift
from monitor.metrics import MonitorMetrics
from monitor.online_metrics import WindowMetrics
from schemas.monitoring import EstimatedFigure
from tests.support.lineups import comparison
from tests.support.prometheus import PrometheusServer, dashboard_expressions, exposed, prometheus

SERVED = {("champion", "v2"), ("challenger", "v3")}
REPLACED = {("champion", "v1"), ("challenger", "v2")}  # v2 was promoted, v1 retired
FIGURES = WindowMetrics(
    events=900, delayed=180, roc_auc=0.7, pr_auc=0.4, recall=0.6, precision=0.3, f1=0.4, brier=0.16, ece=0.02,
    mean_probability=0.2, predicted_delayed_rate=0.3, actual_delayed_rate=0.2,
)  # fmt: skip


def _scorer() -> ScorerMetrics:
    """What a scorer serving the present lineup exports of its models."""
    metrics = ScorerMetrics()
    for role, version in SERVED:
        metrics.roles.labels(role=role, version=version).set(1)
        metrics.offline.labels(role=role, version=version, figure="roc_auc").set(0.72)
    return metrics


def _monitor() -> MonitorMetrics:
    """A monitor that watched both lineups: every per-version series, for the past and the present."""
    metrics = MonitorMetrics()
    for role, version in SERVED | REPLACED:
        for window in ("event_time", "events"):
            metrics.report(role, version, window, FIGURES)
        shift = EstimatedFigure(figure="roc_auc", estimate=0.7, low=0.65, high=0.75, realized=0.6, departs=True)
        metrics.estimated(role, version, "events", [shift])
        metrics.estimated(
            role, version, "waiting", [EstimatedFigure(figure="roc_auc", estimate=0.7, low=0.6, high=0.8)]
        )
        metrics.drift(version, Drift(name="OPERA", psi=0.3, threshold=0.2, events=900, drifting=True, shifts=[]))
    metrics.comparison(comparison("v1", "v2"))
    metrics.comparison(comparison("v2", "v3"))
    return metrics


def _versions(series: dict[str, str]) -> set[tuple[str, str]]:
    """The (role, version) pairs a result series speaks of; a version alone may hold either role."""
    if "champion" in series or "challenger" in series:
        return {("champion", series["champion"]), ("challenger", series["challenger"])}
    if "role" in series:
        return {(series["role"], series["version"])}
    if "version" in series:
        return {(role, series["version"]) for role, version in SERVED if version == series["version"]} or {
            ("?", series["version"])
        }
    return set()


def _answered(server: PrometheusServer, expr: str) -> bool:
    return bool(server.query(expr)["result"])


# The series the monitor labels by version (or by lineup); prometheus_client has no public view of a registry.
LABELLED = {
    name
    for name, collector in MonitorMetrics().registry._names_to_collectors.items()
    if {"version", "champion"} & set(getattr(collector, "_labelnames", ()))
}


def _per_version(expr: str) -> bool:
    """A query of a series the monitor labels by version: it must show the present lineup's."""
    return any(re.search(rf"\b{name}\b", expr) for name in LABELLED)


def test_every_panel_shows_the_served_lineup_alone(tmp_path: Path) -> None:
    with (
        exposed(_scorer().registry) as scorer,
        exposed(_monitor().registry) as monitor,
        prometheus({"scorer": [scorer], "monitor": [monitor]}, tmp_path) as server,
    ):
        for series in ("flightdelay_model_role_info", "flightdelay_model_online"):
            server.wait_for(partial(_answered, server, series), 30, f"{series} scraped")
        per_version = 0
        for title, expr in dashboard_expressions():
            result = server.query(expr)["result"]
            spoken = set().union(*(_versions(series["metric"]) for series in result))
            assert spoken <= SERVED, f"{title}: {expr} shows {sorted(spoken - SERVED)}"
            if _per_version(expr):
                per_version += 1
                assert result, f"{title}: {expr} shows nothing of the served lineup"
    assert per_version >= 15, "the monitor's per-version panels were found"
