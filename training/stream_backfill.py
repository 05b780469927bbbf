"""Point-in-time stream features for every flight of the dataset: the training side of `training.stream_features`.

An event is known `lead_minutes` before its scheduled departure; an outcome is known at its actual departure.
Times are the dataset's naive Santiago local times, as integer seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.features import AIRLINE, AIRLINE_CODE, DESTINATION, FLIGHT_NUMBER, OPERATED_DEPARTURE, SCHEDULED_DEPARTURE
from training.stream_features import STREAM_FEATURE_NAMES, Array, backfill, stream_keys

DEFAULT_LEAD_MINUTES = 60


def _seconds(times: pd.Series) -> Array:
    return times.to_numpy(dtype="datetime64[s]").astype(np.int64)


def flight_keys(frame: pd.DataFrame) -> dict[str, Array]:
    """Each flight's key in the airline, destination and flight-code scopes (`stream_keys`)."""
    rows = list(zip(frame[AIRLINE], frame[DESTINATION], frame[AIRLINE_CODE], frame[FLIGHT_NUMBER], strict=True))
    keys = [stream_keys(*row) for row in rows]
    return {
        scope: np.asarray([key[i] for key in keys], dtype=object)
        for i, scope in enumerate(("airline", "destination", "flight"))
    }


def event_times(frame: pd.DataFrame, lead_minutes: int) -> Array:
    """When each flight's event is known: `lead_minutes` before its scheduled departure."""
    return _seconds(frame[SCHEDULED_DEPARTURE]) - lead_minutes * 60


def outcome_times(frame: pd.DataFrame) -> tuple[Array, Array]:
    """When each flight's outcome is known (its actual departure) and its delay, in seconds."""
    known = _seconds(frame[OPERATED_DEPARTURE])
    return known, known - _seconds(frame[SCHEDULED_DEPARTURE])


def with_stream_features(frame: pd.DataFrame, lead_minutes: int = DEFAULT_LEAD_MINUTES) -> pd.DataFrame:
    """`frame` (from `load_flights`) with one column per stream feature, each flight's outcomes the only history."""
    if lead_minutes < 0:
        raise ValueError(f"lead_minutes must be at least 0, got {lead_minutes}")
    keys = flight_keys(frame)
    known, delay = outcome_times(frame)
    values = backfill(keys, known, delay, keys, event_times(frame, lead_minutes))
    stream = pd.DataFrame(values, columns=list(STREAM_FEATURE_NAMES), index=frame.index)
    return pd.concat([frame.drop(columns=[c for c in STREAM_FEATURE_NAMES if c in frame.columns]), stream], axis=1)
