"""Generated pieces of flight events: departure times valid and bent, padding, junk values (hypothesis
strategies shared by the lanes' agreement tests).

Strategies are built once, here, not inside the composites: hypothesis validates every strategy object it is
handed, so one built afresh on each draw is validated on every draw (most of a generated test's time).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from hypothesis import strategies as st

PADDING = st.sampled_from(["", " ", "\t", "\n", "\u00a0", "\x1c", "\u2003", "\u200b", "\x85"])
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 20),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=1),
)


_YEARS = st.sampled_from([1969, 1970, 2016, 2017, 2018, 2100, 2101])
_SEPARATORS = st.sampled_from(["T", " ", "t", "_"])
_SUFFIXES = st.sampled_from(
    ["", "", "Z", "+00:00", "-03:00", "-04:00", "+14:00", "+23:59", "+24:00", ".5", ".123456-03:00"]
)
_CUTS = st.integers(0, 3)
_MOMENTS = st.datetimes(datetime(1970, 1, 2), datetime(2100, 12, 30))
_VALID_SUFFIXES = st.sampled_from(["", "", "-03:00", "-04:00", "Z", "+05:30"])
_FORMATS = st.sampled_from(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])


@st.composite
def _departures(draw: st.DrawFn) -> str:
    year = draw(_YEARS)
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 60)), draw(st.integers(0, 61))
    text = f"{year:04d}-{month:02d}-{day:02d}{draw(_SEPARATORS)}{hour:02d}:{minute:02d}:{second:02d}{draw(_SUFFIXES)}"
    return (text, text[:16], text[:10], f" {text}")[draw(_CUTS)]


@st.composite
def _valid_departures(draw: st.DrawFn) -> str:
    return draw(_MOMENTS).strftime(draw(_FORMATS)) + draw(_VALID_SUFFIXES)


DEPARTURES = _departures()  # every shape: days, hours and offsets out of range, cut, padded
VALID_DEPARTURES = _valid_departures()  # what the contract accepts: ISO 8601 or the dataset's form, any offset
# Two in three valid: two instances, as st.one_of drops a strategy it is handed twice.
SOME_DEPARTURES = st.one_of(VALID_DEPARTURES, _valid_departures(), DEPARTURES)


@cache
def padded(valid: str) -> st.SearchStrategy[str]:
    """`valid` with padding either side."""
    return st.builds(lambda left, right: f"{left}{valid}{right}", PADDING, PADDING)


@cache
def near(valid: str) -> st.SearchStrategy[Any]:
    """A valid value, padded, re-cased, cut, or replaced by junk."""
    return st.one_of(st.just(valid), padded(valid), st.just(valid.lower()), st.just(valid[:-1]), JUNK)
