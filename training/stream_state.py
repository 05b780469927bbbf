"""Where the outcomes of the stream features are held: the reference `StreamState`, or its compiled twin.

The scorer holds them in the compiled twin (`flightdelay_native.StreamState`, built from `native/` with the
scorer's compiled lane), which its compiled lane reads without a Python call per event; the monitor holds them
in the reference, so its recomputation checks the twin on every prediction. Tests hold the two equal value for
value. Without the extension both hold the reference.
"""

from __future__ import annotations

from typing import Any, Protocol

from training.stream_features import (
    AGGREGATE_WINDOWS,
    AIRPORT,
    DELAYED_AFTER_SECONDS,
    FLIGHT_WINDOW,
    Outcome,
    StreamState,
)

try:
    import flightdelay_native as _native
except ImportError:  # a Python-only install: the reference holds them
    _native = None  # type: ignore[assignment]


class OutcomesHeld(Protocol):
    """What a departures table asks of where it holds the outcomes."""

    def __len__(self) -> int: ...
    def add(self, outcome: Outcome) -> None: ...
    def forget_before(self, t: int) -> None: ...
    def features_at(self, t: int, airline: str, destination: str, flight: str) -> tuple[float, ...]: ...


class CompiledStreamState:
    """`StreamState` in the compiled lane's memory; `native` is what its models read."""

    def __init__(self) -> None:
        if _native is None:
            raise RuntimeError("the compiled lane (flightdelay_native) is not installed")
        self.native: Any = _native.StreamState(
            aggregates=[(window.scope, window.seconds) for window in AGGREGATE_WINDOWS],
            flight_seconds=FLIGHT_WINDOW.seconds,
            delayed_after=DELAYED_AFTER_SECONDS,
            airport_key=AIRPORT,
        )

    def __len__(self) -> int:
        return len(self.native)

    def add(self, outcome: Outcome) -> None:
        self.native.add(outcome.known_at, outcome.airline, outcome.destination, outcome.flight, outcome.delay_seconds)

    def forget_before(self, t: int) -> None:
        self.native.forget_before(t)

    def features_at(self, t: int, airline: str, destination: str, flight: str) -> tuple[float, ...]:
        return tuple(self.native.features_at(t, airline, destination, flight))


def fastest_state() -> OutcomesHeld:
    """The compiled twin when the extension is installed, else the reference."""
    return CompiledStreamState() if _native is not None else StreamState()
