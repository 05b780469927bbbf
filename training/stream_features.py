"""The one definition of the stream features: what the departures stream says, before a moment, about a flight.

A flight event known at time `t` (seconds) gets, from the outcomes known strictly before `t` (an outcome is known
at its actual departure), per airline, airport-wide and per destination over the last 1 h, 3 h and 24 h: the
count, the share delayed and the mean delay in minutes; and for the same flight code over 7 days: the count,
the share delayed, the last delay and its age. A window holds the outcomes known in `[t - window, t)`.

Two computations share every formula here (`window_figures`, `last_figures`): `StreamState`, the reference, holds
outcomes one by one as a scorer reads them; `backfill` answers a whole dataset's events at once for training. A
test holds them equal value for value. Numbers become categories (`bin_edges`, `bin_labels`: training-quantile
bins plus a `none` bin for an undefined value), so that the one-hot logistic model and its lookup tables take
them as they take the calendar. Times and delays are integer seconds, so sums are exact in both computations.
No pandas here: the scorer imports this module.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from schemas.flight_event import SANTIAGO
from schemas.outcome import DELAY_MINUTES, FlightOutcome
from training.features import flight_code

DELAYED_AFTER_SECONDS = DELAY_MINUTES * 60
AIRPORT = "SCL"  # the airport-wide scope has one key
HOUR = 3600
AGGREGATE_SCOPES = ("airline", "airport", "destination")
AGGREGATE_HOURS = (1, 3, 24)
AGGREGATE_FIGURES = ("count", "delayed_share", "mean_delay_minutes")
FLIGHT_SCOPE = "flight"
FLIGHT_WINDOW_SECONDS = 7 * 24 * HOUR
FLIGHT_FIGURES = ("count", "delayed_share", "last_delay_minutes", "last_age_minutes")
LONGEST_WINDOW_SECONDS = max(FLIGHT_WINDOW_SECONDS, max(AGGREGATE_HOURS) * HOUR)
WINDOW_DAYS = -(-LONGEST_WINDOW_SECONDS // (24 * HOUR))  # the longest window, in whole days


@dataclass(frozen=True)
class Window:
    scope: str
    seconds: int
    label: str


AGGREGATE_WINDOWS: tuple[Window, ...] = tuple(
    Window(scope, hours * HOUR, f"{hours}h") for scope in AGGREGATE_SCOPES for hours in AGGREGATE_HOURS
)
FLIGHT_WINDOW = Window(FLIGHT_SCOPE, FLIGHT_WINDOW_SECONDS, "7d")
STREAM_FEATURE_NAMES: tuple[str, ...] = (
    *(f"{w.scope}_{w.label}_{figure}" for w in AGGREGATE_WINDOWS for figure in AGGREGATE_FIGURES),
    *(f"{FLIGHT_SCOPE}_{FLIGHT_WINDOW.label}_{figure}" for figure in FLIGHT_FIGURES),
)

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Outcome:
    """A departed flight as the stream features see it: when it became known, whose it was, how late."""

    known_at: int  # seconds: its actual departure
    airline: str
    destination: str
    flight: str
    delay_seconds: int  # actual - scheduled departure


def stream_keys(airline_name: str, destination: str, airline_code: str, flight_number: str) -> tuple[str, str, str]:
    """A flight's (airline, destination, flight) keys from its event's fields, as `training.features` reads them:
    events and outcomes alike, in training and in serving."""
    return str(airline_name).strip(), str(destination).strip(), flight_code(airline_code, flight_number)


def scope_keys(airline: str, destination: str, flight: str) -> dict[str, str]:
    """The key of a flight (or of an outcome) in each scope."""
    return {"airline": airline, "airport": AIRPORT, "destination": destination, FLIGHT_SCOPE: flight}


# --- the time axis: Santiago's wall clock, as the dataset's times, in seconds ---------------------------------------
def santiago_seconds(instant: datetime) -> int:
    """An aware instant as seconds of Santiago's wall clock since 1970-01-01 00:00 (the axis training reads the
    dataset's naive times on, so windows over a clock change match)."""
    local = instant.astimezone(SANTIAGO).replace(tzinfo=None)
    return (local - _WALL_EPOCH) // timedelta(seconds=1)


_WALL_EPOCH = datetime(1970, 1, 1)


def outcome_of(contract: FlightOutcome) -> Outcome | None:
    """A departures-topic outcome as the stream features count it; None when it does not say whose flight it was."""
    if not contract.has_flight_keys:
        return None
    assert contract.airline_name and contract.airline_code and contract.flight_number and contract.destination
    airline, destination, flight = stream_keys(
        contract.airline_name, contract.destination, contract.airline_code, contract.flight_number
    )
    return Outcome(
        known_at=santiago_seconds(contract.actual_departure),
        airline=airline,
        destination=destination,
        flight=flight,
        delay_seconds=round(contract.delay_minutes * 60),
    )


# --- the formulas, on arrays: both computations call them ---------------------------------------------------------
def window_figures(count: Array, delayed: Array, delay_total: Array) -> tuple[Array, Array, Array]:
    """Count, share delayed and mean delay in minutes; the share and the mean are NaN for an empty window."""
    count = np.asarray(count, dtype=np.int64)
    empty = count == 0
    safe = np.where(empty, 1, count)
    share = np.where(empty, np.nan, np.asarray(delayed, dtype=np.int64) / safe)
    mean = np.where(empty, np.nan, np.asarray(delay_total, dtype=np.int64) / safe / 60)
    return count.astype(np.float64), share, mean


def last_figures(t: Array, found: Array, last_known: Array, last_delay: Array) -> tuple[Array, Array]:
    """The last outcome's delay in minutes and its age at `t` in minutes; NaN where none was `found`."""
    delay = np.where(found, np.asarray(last_delay, dtype=np.int64) / 60, np.nan)
    age = np.where(found, (np.asarray(t, dtype=np.int64) - np.asarray(last_known, dtype=np.int64)) / 60, np.nan)
    return delay, age


def _assemble(
    aggregates: Sequence[tuple[Array, Array, Array]], flight: tuple[Array, Array, Array], last: tuple[Array, Array]
) -> Array:
    """Columns in `STREAM_FEATURE_NAMES` order."""
    columns = [column for figures in aggregates for column in figures]
    columns += [flight[0], flight[1], last[0], last[1]]
    return np.column_stack(columns)


# --- the reference: outcomes held one by one ----------------------------------------------------------------------
class StreamState:
    """The outcomes read so far, by scope and key, each list ordered by (known_at, delay_seconds).

    `features_at` reads only outcomes known before the moment asked about, whatever was added since, so the
    order outcomes arrive in does not matter; `forget_before` bounds the memory.
    """

    def __init__(self) -> None:
        self._held: dict[tuple[str, str], list[tuple[int, int]]] = {}

    def __len__(self) -> int:
        """Outcomes held (each counted once, under its airport-wide key)."""
        return sum(len(held) for (scope, _), held in self._held.items() if scope == "airport")

    def add(self, outcome: Outcome) -> None:
        entry = (outcome.known_at, outcome.delay_seconds)
        for scope, key in scope_keys(outcome.airline, outcome.destination, outcome.flight).items():
            insort(self._held.setdefault((scope, key), []), entry)

    def forget_before(self, t: int) -> None:
        """Drop the outcomes no window of a moment at or after `t` can hold."""
        oldest = t - LONGEST_WINDOW_SECONDS
        for key, held in list(self._held.items()):
            del held[: bisect_left(held, oldest, key=lambda entry: entry[0])]
            if not held:
                del self._held[key]

    def _window(self, scope: str, key: str, t: int, seconds: int) -> list[tuple[int, int]]:
        held = self._held.get((scope, key), [])
        first = bisect_left(held, t - seconds, key=lambda entry: entry[0])
        end = bisect_left(held, t, key=lambda entry: entry[0])
        return held[first:end]

    def features_at(self, t: int, airline: str, destination: str, flight: str) -> tuple[float, ...]:
        """The stream features of a flight event known at `t`, in `STREAM_FEATURE_NAMES` order."""
        keys = scope_keys(airline, destination, flight)

        def figures(window: Window) -> tuple[list[tuple[int, int]], tuple[Array, Array, Array]]:
            held = self._window(window.scope, keys[window.scope], t, window.seconds)
            delayed = sum(1 for _, delay in held if delay > DELAYED_AFTER_SECONDS)
            return held, window_figures(np.array([len(held)]), np.array([delayed]), np.array([sum(d for _, d in held)]))

        aggregates = [figures(window)[1] for window in AGGREGATE_WINDOWS]
        held, flight_figures = figures(FLIGHT_WINDOW)
        known, delay = held[-1] if held else (0, 0)
        last = last_figures(np.array([t]), np.array([bool(held)]), np.array([known]), np.array([delay]))
        return tuple(float(value) for value in _assemble(aggregates, flight_figures, last)[0])


# --- the backfill: every event of a dataset at once ---------------------------------------------------------------
@dataclass(frozen=True)
class _WindowSums:
    """Per event, over one window: how many outcomes, how many delayed, their delay total, and the last one."""

    count: Array
    delayed: Array
    total: Array
    found: Array
    last_known: Array
    last_delay: Array


def _groups(codes: Array, n_codes: int) -> list[Array]:
    """Row numbers of each code, in row order."""
    order = np.argsort(codes, kind="stable")
    return np.split(order, np.searchsorted(codes[order], np.arange(1, n_codes)))


def _scope_column(side: Mapping[str, Array], rows: int, scope: str) -> Array:
    return np.full(rows, AIRPORT, dtype=object) if scope == "airport" else np.asarray(side[scope], dtype=object)


def _window_sums(
    scope: str,
    windows: Sequence[Window],
    outcomes: Mapping[str, Array],
    known_at: Array,
    delay_seconds: Array,
    events: Mapping[str, Array],
    event_at: Array,
) -> list[_WindowSums]:
    n_outcomes, n_events = len(known_at), len(event_at)
    keys = np.concatenate([_scope_column(outcomes, n_outcomes, scope), _scope_column(events, n_events, scope)])
    codes, inverse = np.unique(keys.astype(str), return_inverse=True)
    outcome_rows = _groups(inverse[:n_outcomes], len(codes))
    event_rows = _groups(inverse[n_outcomes:], len(codes))
    sums = [_WindowSums(*(np.zeros(n_events, dtype=np.int64) for _ in range(6))) for _ in windows]
    for mine, rows in zip(outcome_rows, event_rows, strict=True):
        if len(rows) == 0:
            continue
        order = mine[np.lexsort((delay_seconds[mine], known_at[mine]))]
        times, delays = known_at[order], delay_seconds[order]
        delayed = np.concatenate([[0], np.cumsum(delays > DELAYED_AFTER_SECONDS)])
        total = np.concatenate([[0], np.cumsum(delays)])
        at = event_at[rows]
        end = np.searchsorted(times, at, side="left")
        for window, into in zip(windows, sums, strict=True):
            first = np.searchsorted(times, at - window.seconds, side="left")
            found = end > first
            last = np.where(found, end - 1, 0)
            into.count[rows] = end - first
            into.delayed[rows] = delayed[end] - delayed[first]
            into.total[rows] = total[end] - total[first]
            into.found[rows] = found
            if len(times):
                into.last_known[rows] = np.where(found, times[last], 0)
                into.last_delay[rows] = np.where(found, delays[last], 0)
    return sums


def backfill(
    outcomes: Mapping[str, Array],
    known_at: Array,
    delay_seconds: Array,
    events: Mapping[str, Array],
    event_at: Array,
) -> Array:
    """The stream features of each event (rows; `STREAM_FEATURE_NAMES` columns) from all the outcomes.

    `outcomes` and `events` map each of `airline`, `destination` and `flight` to an array of keys; times and
    delays are integer seconds.
    """
    data = (
        outcomes,
        np.asarray(known_at, dtype=np.int64),
        np.asarray(delay_seconds, dtype=np.int64),
        events,
        np.asarray(event_at, dtype=np.int64),
    )
    aggregates = [
        window_figures(sums.count, sums.delayed, sums.total)
        for scope in AGGREGATE_SCOPES
        for sums in _window_sums(scope, [w for w in AGGREGATE_WINDOWS if w.scope == scope], *data)
    ]
    (flight,) = _window_sums(FLIGHT_SCOPE, [FLIGHT_WINDOW], *data)
    last = last_figures(data[4], flight.found.astype(bool), flight.last_known, flight.last_delay)
    return _assemble(aggregates, window_figures(flight.count, flight.delayed, flight.total), last)


# --- as categories -----------------------------------------------------------------------------------------------
BINS = 8
BIN_PREFIX = "b"  # bin i is `b<i>`
MISSING_BIN = "none"


def bin_edges(values: Array, bins: int = BINS) -> list[float]:
    """Inner quantile edges of the defined values (repeated edges merged): up to `bins` bins."""
    defined = np.asarray(values, dtype=np.float64)
    defined = defined[~np.isnan(defined)]
    if len(defined) == 0:
        return []
    return [float(edge) for edge in np.unique(np.quantile(defined, np.arange(1, bins) / bins))]


def bin_labels(values: Array, edges: Sequence[float]) -> Array:
    """`b<i>` for the bin a value falls in (edge values go up), `none` where it is undefined."""
    numbers = np.asarray(values, dtype=np.float64)
    index = np.searchsorted(np.asarray(edges, dtype=np.float64), numbers, side="right")
    labels = np.char.add(BIN_PREFIX, index.astype(str)).astype(object)
    labels[np.isnan(numbers)] = MISSING_BIN
    return labels
