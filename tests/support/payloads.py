"""Generated pieces of flight events: departure times valid and bent, padding, junk values (hypothesis
strategies shared by the lanes' agreement tests)."""

from __future__ import annotations

from datetime import datetime
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


@st.composite
def departures(draw: st.DrawFn) -> str:
    year = draw(st.sampled_from([1969, 1970, 2016, 2017, 2018, 2100, 2101]))
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 60)), draw(st.integers(0, 61))
    separator = draw(st.sampled_from(["T", " ", "t", "_"]))
    suffix = draw(
        st.sampled_from(
            ["", "", "Z", "+00:00", "-03:00", "-04:00", "+14:00", "+23:59", "+24:00", ".5", ".123456-03:00"]
        )
    )
    text = f"{year:04d}-{month:02d}-{day:02d}{separator}{hour:02d}:{minute:02d}:{second:02d}{suffix}"
    return draw(st.sampled_from([text, text[:16], text[:10], f" {text}"]))


def near(valid: str) -> st.SearchStrategy[Any]:
    """A valid value, padded, re-cased, cut, or replaced by junk."""
    padded = st.builds(lambda left, right: f"{left}{valid}{right}", PADDING, PADDING)
    return st.one_of(st.just(valid), padded, st.just(valid.lower()), st.just(valid[:-1]), JUNK)


@st.composite
def valid_departures(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(datetime(1970, 1, 2), datetime(2100, 12, 30)))
    suffix = draw(st.sampled_from(["", "", "-03:00", "-04:00", "Z", "+05:30"]))
    return moment.strftime(draw(st.sampled_from(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]))) + suffix
