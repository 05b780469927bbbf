"""Readiness must not keep claiming a reachable broker when the loop that hears from librdkafka is blocked."""

from __future__ import annotations

import time

from stream_runtime.health import HealthState


def test_broker_report_counts_while_fresh() -> None:
    state = HealthState(broker_stale_after_s=60)
    assert not state.readiness()["broker_reachable"]
    state.report_broker(True)
    assert state.readiness()["broker_reachable"]
    state.report_broker(False)
    assert not state.readiness()["broker_reachable"]


def test_a_stale_report_is_not_reachable() -> None:
    """The loop serves librdkafka's callbacks; stuck in a transactional call, it stops reporting."""
    state = HealthState(broker_stale_after_s=0.05)
    state.report_broker(True)
    time.sleep(0.1)
    assert not state.readiness()["broker_reachable"]
    state.report_broker(True)
    assert state.readiness()["broker_reachable"]
