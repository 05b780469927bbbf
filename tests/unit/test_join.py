"""The monitor's join: every pair once, whatever the order, and the same pairs after a crash and a rebuild."""

from __future__ import annotations

import itertools
import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.join import Joined, JoinState, Outcome, Prediction
from schemas.model_control import ModelRole

HOUR = 3600.0
Record = Prediction | Outcome


def pair_keys(pairs: list[Joined]) -> Counter[tuple[str, str, str]]:
    return Counter((j.prediction.flight_id, j.prediction.role, j.prediction.version) for j in pairs)


def feed(state: JoinState, records: list[Record]) -> list[Joined]:
    joined: list[Joined] = []
    for record in records:
        if isinstance(record, Prediction):
            pair = state.add_prediction(record)
            joined += [pair] if pair else []
        else:
            joined += state.add_outcome(record)
        state.evict()
    return joined


@st.composite
def streams(draw: st.DrawFn) -> list[Record]:
    """Flights with a champion prediction, maybe a challenger's, and maybe an outcome, in a shuffled order
    that keeps each topic's own order (what a consumer of three partitions sees)."""
    flights = draw(st.integers(1, 40))
    by_topic: dict[str, list[Record]] = {"pred": [], "shadow": [], "out": []}
    for i in range(flights):
        departure = draw(st.floats(0, 72)) * HOUR
        for topic, role in (("pred", ModelRole.CHAMPION), ("shadow", ModelRole.CHALLENGER)):
            if role == ModelRole.CHAMPION or draw(st.booleans()):
                offset = len(by_topic[topic])
                by_topic[topic].append(Prediction(f"f{i}", role, "v1", 0.3, 0.2, departure, (topic, 0, offset)))
        if draw(st.booleans()):
            offset = len(by_topic["out"])
            by_topic["out"].append(Outcome(f"f{i}", draw(st.booleans()), 20.0, departure, ("out", 0, offset)))
    for records in by_topic.values():
        records.sort(key=lambda r: r.departure_s + draw(st.floats(0, 48)) * HOUR)  # roughly in time
        for offset, record in enumerate(records):
            object.__setattr__(record, "position", (record.position[0], 0, offset))
    rng = random.Random(draw(st.integers(0, 2**32)))
    merged: list[Record] = []
    queues = [list(q) for q in by_topic.values() if q]
    while queues:
        queue = rng.choice(queues)
        merged.append(queue.pop(0))
        queues = [q for q in queues if q]
    return merged


@settings(max_examples=300, deadline=None)
@given(streams(), st.sampled_from([6 * HOUR, 48 * HOUR, float("inf")]), st.data())
def test_a_crash_and_rebuild_loses_and_doubles_no_pair(
    records: list[Record], horizon: float, data: st.DataObject
) -> None:
    everything = feed(JoinState(horizon), records)
    crash = data.draw(st.integers(0, len(records)))
    before = JoinState(horizon)
    emitted = feed(before, records[:crash])
    # What the commit stores: per topic the next offset, where to replay from, and the watermark.
    committed = Counter(r.position[0] for r in records[:crash])
    replay_from = before.replay_from()
    rebuilt = JoinState(horizon, dict(before.newest_s), watermark_s=before.watermark_s)
    replayed = [
        r for r in records[:crash] if replay_from.get((r.position[0], 0), committed[r.position[0]]) <= r.position[2]
    ]
    random.Random(crash).shuffle(replayed)  # a rebuild reads the partitions in its own order
    feed(rebuilt, replayed)  # silently: these pairs were emitted before the crash
    emitted += feed(rebuilt, records[crash:])
    assert pair_keys(emitted) == pair_keys(everything)


def test_an_outcome_serves_the_champion_and_a_later_challenger() -> None:
    state = JoinState(48 * HOUR)
    outcome = Outcome("f", True, 30.0, 10 * HOUR, ("out", 0, 0))
    champion = Prediction("f", ModelRole.CHAMPION, "v1", 0.7, 0.2, 10 * HOUR, ("pred", 0, 0))
    challenger = Prediction("f", ModelRole.CHALLENGER, "v2", 0.6, 0.3, 10 * HOUR, ("shadow", 0, 0))
    assert state.add_prediction(champion) is None and state.pending == 1
    assert state.add_outcome(outcome) == [Joined(champion, outcome)] and state.pending == 0
    assert state.add_prediction(challenger) == Joined(challenger, outcome)
    assert state.add_outcome(Outcome("f", False, 0.0, 10 * HOUR, ("out", 0, 1))) == [], "the first outcome stands"


def test_the_horizon_bounds_the_state() -> None:
    state = JoinState(6 * HOUR)
    for hour in range(100):
        state.add_prediction(Prediction(f"f{hour}", ModelRole.CHAMPION, "v1", 0.1, 0.2, hour * HOUR, ("pred", 0, hour)))
        state.add_outcome(Outcome(f"o{hour}", False, 0.0, hour * HOUR, ("out", 0, hour)))
        state.evict()
    assert state.pending == 7 and len(state.outcomes) == 7, "the last 6 hours and the newest"
    assert state.replay_from() == {("pred", 0): 93, ("out", 0): 93}
    late = Outcome("f1", True, 30.0, 1 * HOUR, ("out", 0, 100))
    assert state.add_outcome(late) == [], "its prediction is gone"
    state.evict()
    assert "f1" not in state.outcomes, "and it goes too"


def test_a_backlog_of_outcomes_read_first_loses_no_pair() -> None:
    """Outcomes read far ahead of the predictions (a restart on a backlog) wait for them: the watermark is the
    slower side's."""
    state = JoinState(6 * HOUR)
    for hour in range(100):
        state.add_outcome(Outcome(f"f{hour}", False, 0.0, hour * HOUR, ("out", 0, hour)))
        state.evict()
    joined = [
        state.add_prediction(Prediction(f"f{h}", ModelRole.CHAMPION, "v1", 0.1, 0.2, h * HOUR, ("pred", 0, h)))
        for h in range(100)
    ]
    assert all(joined)


def test_a_side_that_stalls_is_bounded_by_max_held() -> None:
    state = JoinState(6 * HOUR, max_held=10)
    for hour in range(100):
        state.add_prediction(Prediction(f"f{hour}", ModelRole.CHAMPION, "v1", 0.1, 0.2, hour * HOUR, ("pred", 0, hour)))
        state.evict()
    assert (state.pending, state.dropped) == (10, 90)
    assert min(p.departure_s for ps in state.waiting.values() for p in ps) == 90 * HOUR, "the newest are kept"


def test_the_newest_outcome_known_is_the_latest_read_in_any_order() -> None:
    """What the monitor's OutcomesNotArriving reads: the latest moment an outcome read was known at, whatever the
    order they are read in (a rebuild reads its own); an outcome that says no moment leaves it, moment 0 is one."""
    moments = [5_000, 9_000, 7_000, None]
    for order in itertools.permutations(moments):
        state = JoinState(48 * HOUR)
        assert state.newest_outcome_known_s is None
        for i, moment in enumerate(order):
            state.add_outcome(Outcome(f"f{i}", False, 0.0, 1 * HOUR, ("out", 0, i), moment))
        assert state.newest_outcome_known_s == 9_000
    state = JoinState(48 * HOUR)
    state.add_outcome(Outcome("f", False, 0.0, 1 * HOUR, ("out", 0, 0), None))
    assert state.newest_outcome_known_s is None
    state.add_outcome(Outcome("g", False, 0.0, 1 * HOUR, ("out", 0, 1), 0))
    assert state.newest_outcome_known_s == 0
