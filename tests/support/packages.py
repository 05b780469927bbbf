"""The project's package graph, read from the source (AST): which project packages a folder's modules import."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {
    "stream_runtime",
    "kafka_common",
    "local_stack",
    "schemas",
    "consumer",
    "monitor",
    "producer",
    "training",
    "bench",
    "infra",
}


def imported_project_packages(folder: Path) -> set[str]:
    """Top-level project packages imported anywhere under `folder` (module level or inside functions)."""
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found & PROJECT
