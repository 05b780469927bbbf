"""Types of the scorer's compiled lane (see src/lib.rs); `consumer.native_lane` wraps it."""

from collections.abc import Callable, Sequence
from typing import Any

class Validator:
    def __init__(
        self,
        max_bytes: int,
        first_year: int,
        last_year: int,
        known_airlines: set[str],
        hour_offset: Callable[[str], str | None],
    ) -> None: ...
    def split(
        self, values: Sequence[bytes | None], keys: Sequence[bytes | None], timestamps: Sequence[int]
    ) -> Batch: ...

class Batch:
    @property
    def positions(self) -> list[int]: ...
    @property
    def deferred(self) -> list[int]: ...
    def __len__(self) -> int: ...
    def columns(self) -> dict[str, Any]: ...

class Model:
    def __init__(
        self,
        *,
        features: Sequence[tuple[str, object, object, list[int]]],
        coefficients: Sequence[float],
        intercept: float,
        threshold: float,
        threshold_json: bytes,
        version_json: bytes,
        terms: Sequence[bytes],
        flagged: Sequence[tuple[int, bytes]],
        top: int,
    ) -> None: ...
    def predict(
        self,
        batch: Batch,
        topics: Sequence[str | None],
        partitions: Sequence[int | None],
        offsets: Sequence[int | None],
        timestamps: Sequence[int],
        scored_at: bytes,
    ) -> tuple[list[tuple[bytes | None, bytes]], list[float]]: ...
