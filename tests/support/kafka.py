"""Types of the broker fixtures (conftest's), for the tests that take them."""

from __future__ import annotations

from typing import Protocol


class MakeTopic(Protocol):
    def __call__(self, prefix: str = ..., partitions: int = ...) -> str: ...
