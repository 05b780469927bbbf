"""Synthetic departures for the stream-feature tests, and the features computed the slow, obvious way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from training.stream_features import (
    AGGREGATE_WINDOWS,
    DELAYED_AFTER_SECONDS,
    FLIGHT_WINDOW,
    Outcome,
    scope_keys,
)

AIRLINES = ("LAN", "SKU", "JAT")
DESTINATIONS = ("SCFA", "SCCI", "SAEZ", "KMIA")


def same_values(left: object, right: object) -> bool:
    """Equal value for value, NaN equal to NaN (an undefined feature in both)."""
    return bool(np.array_equal(np.asarray(left, dtype=float), np.asarray(right, dtype=float), equal_nan=True))


def random_outcomes(count: int, seed: int, span_seconds: int = 10 * 86_400) -> list[Outcome]:
    """Outcomes on minute boundaries (so many share a second), a few flight codes flying often."""
    rng = np.random.default_rng(seed)
    return [
        Outcome(
            known_at=int(rng.integers(0, span_seconds // 60)) * 60,
            airline=str(rng.choice(AIRLINES)),
            destination=str(rng.choice(DESTINATIONS)),
            flight=f"F-{int(rng.integers(0, 6))}",
            delay_seconds=int(rng.choice([-600, 0, 600, 900, 901, 3600])),
        )
        for _ in range(count)
    ]


def brute_force(outcomes: Sequence[Outcome], t: int, airline: str, destination: str, flight: str) -> list[float]:
    """The stream features of one event, read off the definition with no shared code."""
    keys = scope_keys(airline, destination, flight)

    def held(scope: str, seconds: int) -> list[Outcome]:
        return [
            o
            for o in outcomes
            if t - seconds <= o.known_at < t and scope_keys(o.airline, o.destination, o.flight)[scope] == keys[scope]
        ]

    values: list[float] = []
    for window in (*AGGREGATE_WINDOWS, FLIGHT_WINDOW):
        inside = held(window.scope, window.seconds)
        delays = [o.delay_seconds for o in inside]
        values.append(float(len(inside)))
        values.append(sum(d > DELAYED_AFTER_SECONDS for d in delays) / len(inside) if inside else float("nan"))
        if window is not FLIGHT_WINDOW:
            values.append(sum(delays) / len(inside) / 60 if inside else float("nan"))
    last = max(
        held(FLIGHT_WINDOW.scope, FLIGHT_WINDOW.seconds), key=lambda o: (o.known_at, o.delay_seconds), default=None
    )
    values.append(last.delay_seconds / 60 if last else float("nan"))
    values.append((t - last.known_at) / 60 if last else float("nan"))
    return values


def dataset_outcomes(frame: object) -> list[Outcome]:
    """Every flight of a `load_flights` frame as the outcome the departures stream would carry."""
    from training.stream_backfill import flight_keys, outcome_times

    keys = flight_keys(frame)  # type: ignore[arg-type]
    known, delay = outcome_times(frame)  # type: ignore[arg-type]
    return [
        Outcome(int(k), str(a), str(d), str(f), int(s))
        for k, a, d, f, s in zip(known, keys["airline"], keys["destination"], keys["flight"], delay, strict=True)
    ]


class HeldDepartures:
    """The departures table's reading side over outcomes given by hand: what the monitor's check reads."""

    def __init__(self, outcomes: Sequence[Outcome] = (), reachable: bool = True) -> None:
        from training.stream_features import StreamState

        self.state = StreamState()
        for outcome in outcomes:
            self.state.add(outcome)
        self.reachable = reachable

    def catch_up(self, max_wait_s: float) -> bool:
        return self.reachable

    def features(self, known_at: Sequence[int], keys: Sequence[tuple[str, str, str]]) -> np.ndarray:
        rows = [self.state.features_at(t, *key) for t, key in zip(known_at, keys, strict=True)]
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)

    def close(self) -> None:
        return None
