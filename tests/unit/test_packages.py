"""Packages form a DAG: the runtime imports no application, the contracts nothing of the project."""

from __future__ import annotations

import pytest

from tests.packages import ROOT, imported_project_packages

# What each package may import of the project (itself included): the graph's edges, top to bottom.
ALLOWED = {
    "stream_runtime": {"stream_runtime"},
    "schemas": {"schemas"},
    "kafka_common": {"kafka_common", "schemas", "stream_runtime"},
    "training": {"training", "schemas", "kafka_common", "stream_runtime"},
    "consumer": {"consumer", "training", "schemas", "kafka_common", "stream_runtime"},
    "monitor": {"monitor", "training", "schemas", "kafka_common", "stream_runtime"},
}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_lies_below_it(package: str) -> None:
    assert imported_project_packages(ROOT / package) - ALLOWED[package] == set()


def test_the_monitor_does_not_import_the_scorer() -> None:
    """The monitor reads predictions; it needs none of the scorer's transform, lanes or numpy tables."""
    assert "consumer" not in imported_project_packages(ROOT / "monitor")
