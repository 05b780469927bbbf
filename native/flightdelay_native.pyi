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
        stream: Sequence[tuple[int, list[float], list[int], int]] = ...,
        stream_width: int = ...,
    ) -> None: ...
    def predict(
        self,
        batch: Batch,
        topics: Sequence[str | None],
        partitions: Sequence[int | None],
        offsets: Sequence[int | None],
        timestamps: Sequence[int],
        scored_at: bytes,
        stream: tuple[StreamState, Sequence[int], bool] | None = None,
    ) -> tuple[list[tuple[bytes | None, bytes]], list[float]]: ...

class StreamState:
    def __init__(
        self, *, aggregates: Sequence[tuple[str, int]], flight_seconds: int, delayed_after: int, airport_key: str
    ) -> None: ...
    def __len__(self) -> int: ...
    def add(self, known_at: int, airline: str, destination: str, flight: str, delay_seconds: int) -> None: ...
    def forget_before(self, t: int) -> None: ...
    def features_at(self, t: int, airline: str, destination: str, flight: str) -> list[float]: ...

class KnownAt:
    def __init__(self, header: str, first: int, last: int, hour_offset: Callable[[int], int | None]) -> None: ...
    def moments(
        self, records: list[Any], positions: Sequence[int], timestamps: Sequence[int]
    ) -> tuple[list[int], list[int]]: ...
