"""How far behind its input a service is: records from librdkafka's statistics, seconds from when the log's end was
seen to pass the service's position, per topic and partition."""

from __future__ import annotations

import orjson
import pytest
from prometheus_client import CollectorRegistry

from stream_runtime.lag import MAX_SAMPLES, EndHistory, Reading, partition_reading
from stream_runtime.metrics import RuntimeMetrics


def runtime_metrics() -> RuntimeMetrics:
    """The runtime's metrics under the scorer's prefix, in a registry of their own."""
    return RuntimeMetrics(CollectorRegistry(), "flightdelay", lambda: True)


Info = dict[str, int | str]  # a partition's statistics


def statistics(partitions: dict[str, dict[str, Info]], broker: str = "UP") -> str:
    topics = {topic: {"partitions": infos} for topic, infos in partitions.items()}
    return orjson.dumps({"brokers": {"127.0.0.1:9092/1": {"state": broker}}, "topics": topics}).decode()


def sample(metrics: RuntimeMetrics, name: str, topic: str, partition: int) -> float | None:
    return metrics.registry.get_sample_value(name, {"topic": topic, "partition": str(partition)})


def test_lag_and_broker_state_come_from_librdkafka_statistics() -> None:
    metrics = runtime_metrics()
    metrics.partitions_assigned([("in", 0), ("in", 1)], {})
    stats = statistics(
        {
            "in": {
                "0": {"fetch_state": "active", "consumer_lag": 42, "hi_offset": 142, "app_offset": 100},
                "1": {"fetch_state": "none", "consumer_lag": -1},
                "-1": {"fetch_state": "none", "consumer_lag": -1},
            }
        }
    )
    assert metrics.update_from_statistics(stats, now_s=10.0) is True
    assert sample(metrics, "flightdelay_consumer_lag", "in", 0) == 42
    assert sample(metrics, "flightdelay_consumer_lag_seconds", "in", 0) == 0.0  # just seen: waited 0 s at least
    assert sample(metrics, "flightdelay_consumer_lag", "in", 1) is None
    assert metrics.update_from_statistics(statistics({}, broker="DOWN")) is False


def test_each_input_topic_reports_its_own_partitions() -> None:
    """A service reading several topics (the monitor reads four) has a partition 0 in each."""
    metrics = runtime_metrics()
    metrics.partitions_assigned([("a", 0), ("b", 0)], {("a", 0): 10, ("b", 0): 70})
    busy: Info = {"fetch_state": "active", "ls_offset": 100, "app_offset": -1001}
    metrics.update_from_statistics(statistics({"a": {"0": busy}, "b": {"0": busy}}), now_s=0.0)
    metrics.update_from_statistics(statistics({"a": {"0": busy}, "b": {"0": {**busy, "app_offset": 100}}}), now_s=30)
    assert sample(metrics, "flightdelay_consumer_lag", "a", 0) == 90
    assert sample(metrics, "flightdelay_consumer_lag", "b", 0) == 0
    assert sample(metrics, "flightdelay_consumer_lag_seconds", "a", 0) == 30.0
    assert sample(metrics, "flightdelay_consumer_lag_seconds", "b", 0) == 0.0
    metrics.partitions_revoked([("a", 0)])
    assert sample(metrics, "flightdelay_consumer_lag", "a", 0) is None
    assert sample(metrics, "flightdelay_consumer_lag_seconds", "a", 0) is None
    assert sample(metrics, "flightdelay_consumer_lag", "b", 0) == 0


def test_a_partition_is_reported_only_while_assigned_and_anew_each_time() -> None:
    """A statistics report written before a revocation may be read after it: it must not bring the partition's
    series back (another instance reports it now, and a stale wait would hold an alert)."""
    metrics = runtime_metrics()
    stuck: Info = {"fetch_state": "active", "ls_offset": 50, "app_offset": 10}
    metrics.partitions_assigned([("t", 0)], {})
    metrics.update_from_statistics(statistics({"t": {"0": stuck}}), now_s=0.0)
    metrics.update_from_statistics(statistics({"t": {"0": stuck}}), now_s=400.0)
    assert sample(metrics, "flightdelay_consumer_lag_seconds", "t", 0) == 400.0
    metrics.partitions_revoked([("t", 0)])
    metrics.update_from_statistics(statistics({"t": {"0": stuck}}), now_s=402.0)
    assert sample(metrics, "flightdelay_consumer_lag_seconds", "t", 0) is None
    assert sample(metrics, "flightdelay_consumer_lag", "t", 0) is None
    metrics.partitions_assigned([("t", 0)], {})
    metrics.update_from_statistics(statistics({"t": {"0": stuck}}), now_s=600.0)
    assert sample(metrics, "flightdelay_consumer_lag_seconds", "t", 0) == 0.0


@pytest.mark.parametrize(
    ("info", "start", "lag"),
    [
        ({"fetch_state": "active", "ls_offset": 500, "hi_offset": 510, "app_offset": 450}, None, 50),
        ({"fetch_state": "active", "ls_offset": -1, "hi_offset": 510, "app_offset": 450}, None, 60),
        # exactly-once after a restart, nothing consumed yet: librdkafka knows no committed offset
        ({"fetch_state": "active", "ls_offset": 996, "app_offset": -1001, "committed_offset": -1001}, 996, 0),
        ({"fetch_state": "active", "ls_offset": 1000, "app_offset": -1001, "committed_offset": -1001}, 900, 100),
        # at-least-once: the committed offset librdkafka learned
        ({"fetch_state": "active", "ls_offset": 1000, "app_offset": -1001, "committed_offset": 990}, None, 10),
        ({"fetch_state": "active", "ls_offset": 1000, "app_offset": -1001, "committed_offset": -1001}, None, None),
        ({"fetch_state": "none", "ls_offset": 1000, "app_offset": 10}, None, None),
        ({"fetch_state": "active", "ls_offset": 1000, "app_offset": 1005}, None, 0),
        ({"fetch_state": "active", "ls_offset": -1, "hi_offset": -1, "app_offset": 5}, None, None),
    ],
)
def test_records_behind(info: Info, start: int | None, lag: int | None) -> None:
    reading = partition_reading(info, start)
    assert (None if reading is None else reading.records_behind) == lag


# Each row: (seconds, end, position) seen in turn, and the seconds behind after each.
@pytest.mark.parametrize(
    ("seen", "behind"),
    [
        pytest.param([(0, 10, 10), (2, 10, 10)], [0, 0], id="caught up and idle"),
        pytest.param([(0, 10, 10), (2, 11, 10), (4, 11, 10), (6, 11, 11)], [0, 0, 2, 0], id="one record, read"),
        # the position never moves: the wait grows with the clock from when the end first passed it
        pytest.param([(0, 5, 5), (2, 9, 5), (4, 12, 5), (64, 20, 5)], [0, 0, 2, 62], id="stalled"),
        # read on, but slower than written: the record waiting next was written before the end was seen past it
        pytest.param(
            [(0, 100, 0), (10, 200, 100), (20, 300, 150), (30, 400, 250), (40, 500, 310)],
            [0, 0, 10, 10, 10],
            id="slower than the input",
        ),
        # a backlog found at start: its records are older than anything seen, so the bound starts at 0 and grows
        pytest.param([(100, 5000, 0), (102, 5000, 0), (110, 5000, 2000)], [0, 2, 10], id="backlog at start"),
        # an aborted batch re-read: the position moves back; the answer is still a lower bound
        pytest.param([(0, 10, 0), (2, 20, 15), (4, 20, 10)], [0, 0, 2], id="position moved back"),
        # the topic made anew: its end fell, and the old history says nothing of the new records
        pytest.param([(0, 900, 900), (2, 950, 900), (4, 30, 0), (6, 30, 0)], [0, 0, 0, 2], id="log truncated"),
    ],
)
def test_seconds_behind(seen: list[tuple[float, int, int]], behind: list[float]) -> None:
    history = EndHistory()
    answers = []
    for now, end, position in seen:
        history.observe(now, end)
        answers.append(history.seconds_behind(now, Reading(end, position)))
    assert answers == behind


def test_a_long_stall_keeps_its_start_in_bounded_memory() -> None:
    history = EndHistory()
    for second in range(0, 20 * MAX_SAMPLES, 2):  # a partition written every 2 s and never read past offset 0
        history.observe(float(second), second + 1)
        behind = history.seconds_behind(float(second), Reading(second + 1, 0))
    assert len(history.samples) <= MAX_SAMPLES
    assert behind == 20 * MAX_SAMPLES - 2
