"""Packages form a DAG: the runtime imports no application, the contracts nothing of the project."""

from __future__ import annotations

import ast

import pytest

from tests.support.packages import ROOT, imported_project_packages

# What each package may import of the project (itself included): the graph's edges, top to bottom.
ALLOWED = {
    "stream_runtime": {"stream_runtime"},
    "schemas": {"schemas"},
    "kafka_common": {"kafka_common", "schemas", "stream_runtime"},
    "training": {"training", "schemas", "kafka_common", "stream_runtime"},
    "consumer": {"consumer", "training", "schemas", "kafka_common", "stream_runtime"},
    "monitor": {"monitor", "training", "schemas", "kafka_common", "stream_runtime"},
    "local_stack": {"local_stack", "kafka_common", "stream_runtime"},
    "producer": {"producer", "local_stack", "monitor", "training", "schemas", "kafka_common", "stream_runtime"},
}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_lies_below_it(package: str) -> None:
    assert imported_project_packages(ROOT / package) - ALLOWED[package] == set()


def test_the_monitor_does_not_import_the_scorer() -> None:
    """The monitor reads predictions; it needs none of the scorer's transform, lanes or numpy tables."""
    assert "consumer" not in imported_project_packages(ROOT / "monitor")


def test_the_services_do_not_import_the_dev_tooling() -> None:
    """The local broker and child-process helpers are a developer's; the runtime, scorer and monitor never need them."""
    for service in ("stream_runtime", "kafka_common", "consumer", "monitor"):
        assert "local_stack" not in imported_project_packages(ROOT / service), service


def test_tests_share_helpers_only_through_tests_support() -> None:
    """No test module or conftest imports from another test module or from a conftest."""
    offenders = []
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tests."):
                leaf = node.module.rsplit(".", 1)[-1]
                if leaf.startswith("test_") or leaf == "conftest":
                    offenders.append(f"{path.relative_to(ROOT)}: from {node.module}")
    assert offenders == []
