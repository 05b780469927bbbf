"""The shipped alert rules on a real Prometheus: it scrapes two scorers and the monitor on a real broker, the
rules load, the dashboard's queries evaluate, and alerts go pending, fire and resolve as the services' own metrics
say (and as their absence says, once they stop), read through its HTTP API."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from kafka_common.settings import TopicSettings
from kafka_common.topics import ensure_topics, topic_specs
from local_stack.broker import LocalKafkaBroker
from tests.support.prometheus import PrometheusServer, alert_rule_names, dashboard_expressions, prometheus
from tests.support.promtool import promtool
from tests.support.streaming import monitor_process, scorers, send, send_dataset

INVALID_BURST = 100


def _rule_names(server: PrometheusServer) -> set[str]:
    return {rule["name"] for group in server.api("rules")["groups"] for rule in group["rules"]}


def _waits(server: PrometheusServer, series: str, topic: str) -> list[float]:
    """The longest wait each partition of `topic` reports, in partition order."""
    answer = server.query(f'max by (partition) ({series}{{topic="{topic}"}})')["result"]
    return [float(r["value"][1]) for r in sorted(answer, key=lambda r: int(r["metric"]["partition"]))]


def _caught_up(server: PrometheusServer, series: str, topic: str) -> bool:
    waits = _waits(server, series, topic)
    return bool(waits) and not any(waits)


def _all_up(server: PrometheusServer, expected: int) -> bool:
    targets = server.api("targets")["activeTargets"]
    return len(targets) == expected and all(target["health"] == "up" for target in targets)


@pytest.mark.broker_loss
@pytest.mark.long_wait
def test_prometheus_scrapes_the_fleet_and_the_rules_fire_and_resolve(model_dir: Path, tmp_path: Path) -> None:
    shipped = alert_rule_names()
    with LocalKafkaBroker() as broker:
        topics = TopicSettings.unique("prometheus")
        ensure_topics(AdminClient(broker.client_config()), topic_specs(topics))
        monitor = monitor_process(broker.bootstrap_servers, topics, tmp_path / "monitor.log")
        try:
            with scorers(broker.bootstrap_servers, model_dir, topics, tmp_path, count=2) as fleet:
                monitor.wait_ready()
                for process in (*fleet, monitor):
                    linted = promtool("check", "metrics", stdin=process.get("/metrics")[1])
                    assert linted.returncode == 0, linted.stdout + linted.stderr
                targets = {"scorer": [p.port for p in fleet], "monitor": [monitor.port]}
                with prometheus(targets, tmp_path) as server:
                    checked = promtool("check", "config", str(tmp_path / "prometheus.yml"))
                    assert checked.returncode == 0, checked.stdout + checked.stderr
                    server.wait_for(lambda: _all_up(server, 3), 60, "two scorers and the monitor scraped")
                    assert _rule_names(server) == shipped
                    for title, expr in dashboard_expressions():  # the panels' queries: Grafana has no stand-in here
                        assert server.query(expr)["resultType"] == "vector", title
                    quiet = (
                        "ScorerNotReady",
                        "DeadLetterRatioHigh",
                        "MonitorNotReady",
                        "ScorersAbsent",
                        "MonitorAbsent",
                    )
                    # Evaluated before the first scrape, the absence rules may be pending for a second: they must end.
                    server.wait_for(lambda: not [n for n in quiet if server.alerts(n)], 15, "no alert once scraped")

                    send(broker.bootstrap_servers, topics.input, [(None, b"not a flight")] * INVALID_BURST)
                    send_dataset(broker.bootstrap_servers, topics.input, 50)
                    burst = server.wait_for(
                        lambda: "pending" in server.states("DeadLetterRatioHigh"), 90, "DeadLetterRatioHigh pending"
                    )
                    # What the lag rules read, by input partition, from both services: the input read to its end.
                    for series in ("flightdelay_consumer_lag_seconds", "flightdelay_monitor_consumer_lag_seconds"):
                        server.wait_for(partial(_caught_up, server, series, topics.input), 60, series)

                    broker.stop()
                    pending = server.wait_for(
                        lambda: "pending" in server.states("ScorerNotReady"), 60, "ScorerNotReady pending"
                    )
                    firing = pending + server.wait_for(
                        lambda: "firing" in server.states("ScorerNotReady"), 200, "ScorerNotReady firing"
                    )
                    fired_for = {alert["labels"]["instance"] for alert in server.alerts("ScorerNotReady")}
                    server.wait_for(lambda: "firing" in server.states("MonitorNotReady"), 30, "MonitorNotReady firing")
                    broker.start()
                    resolved = server.wait_for(lambda: not server.alerts("ScorerNotReady"), 180, "resolved")
                    server.wait_for(lambda: not server.alerts("MonitorNotReady"), 60, "MonitorNotReady resolved")
                    print(
                        f"\nDeadLetterRatioHigh pending {burst:.1f} s after a burst of {INVALID_BURST} invalid events; "
                        f"ScorerNotReady pending {pending:.1f} s after the broker stopped, firing at {firing:.1f} s, "
                        f"resolved {resolved:.1f} s after it returned"
                    )
                    assert firing - pending >= 110, "fired before its 2 minutes"
                    assert {f"127.0.0.1:{p.port}" for p in fleet} <= fired_for
                    for process in fleet:
                        process.wait_ready(90)
                    for process in fleet:  # a stopped process takes its series with it: only its absence tells
                        assert process.stop() == 0
                    gone = server.wait_for(lambda: "pending" in server.states("ScorersAbsent"), 30, "ScorersAbsent")
                    assert monitor.stop() == 0
                    server.wait_for(lambda: "pending" in server.states("MonitorAbsent"), 30, "MonitorAbsent pending")
                    print(f"ScorersAbsent pending {gone:.1f} s after the fleet stopped")
        finally:
            monitor.stop()
