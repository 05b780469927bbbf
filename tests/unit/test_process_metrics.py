"""A test reads a child's metric by a selector; labels in another order than the exporter's still match, so a
test asserting a value of 0 cannot pass on a misspelt order alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from local_stack.broker import free_port
from local_stack.processes import ScorerProcess


@pytest.fixture
def exporter(tmp_path: Path) -> Iterator[ScorerProcess]:
    """A real /metrics endpoint (prometheus-client's server) read through the helper the integration tests use."""
    registry = CollectorRegistry()
    info = Gauge("flightdelay_model_info", "", ["role", "version"], registry=registry)
    info.labels(role="champion", version="v1").set(1)
    info.labels(role="challenger", version="v2").set(0.5)
    Counter("flightdelay_events_scored", "", registry=registry).inc(7)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    process = ScorerProcess("127.0.0.1:9", "unused", tmp_path / "never-started.log", "t")
    process.port = port
    yield process
    server.shutdown()
    thread.join(timeout=5)


def test_a_selector_matches_its_sample_whatever_the_order_of_its_labels(exporter: ScorerProcess) -> None:
    assert exporter.metric('flightdelay_model_info{role="champion",version="v1"}') == 1
    assert exporter.metric('flightdelay_model_info{version="v2",role="challenger"}') == 0.5
    assert exporter.metric("flightdelay_events_scored_total") == 7


def test_an_absent_sample_or_a_partial_label_set_reads_zero(exporter: ScorerProcess) -> None:
    assert exporter.metric('flightdelay_model_info{role="champion",version="v9"}') == 0
    assert exporter.metric('flightdelay_model_info{role="champion"}') == 0
    assert exporter.metric("flightdelay_not_exported") == 0
