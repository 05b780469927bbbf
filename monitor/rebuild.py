"""Rebuild a partition's join state by re-reading, without writing, the range its last commit names.

Run from the runtime's loop while the partitions are paused (at assignment) or after an aborted batch, bounded by
`MONITOR_REBUILD_TIMEOUT_S`. A message error inside a range is waited out until that limit and a fatal one fails
at once: a range never ends early, since a partial state would join fewer pairs than the one it replaces.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from monitor.join import JoinState
from monitor.records import RebuildPlan, rebuild_plan
from stream_runtime.exits import ExitCode, ServiceExit
from stream_runtime.processor import ConsumerView

log = logging.getLogger("monitor")
Ranges = dict[tuple[str, int], tuple[int, int]]


class StateRebuilder:
    def __init__(
        self,
        client: dict[str, Any],
        group_id: str,
        inputs: list[str],
        timeout_s: float,
        new_state: Callable[[RebuildPlan], JoinState],
        replay: Callable[[Message, JoinState], object],
    ) -> None:
        self._client, self._group_id, self._inputs, self._timeout_s = client, group_id, inputs, timeout_s
        self._new_state, self._replay = new_state, replay

    def rebuild(self, consumer: ConsumerView, numbers: list[int]) -> tuple[dict[int, JoinState], int]:
        """Each partition's state as its last commit left it, and how many records were re-read."""
        wanted = [TopicPartition(topic, n) for topic in self._inputs for n in numbers]
        committed = consumer.committed(wanted, timeout=self._timeout_s)
        reader = Consumer(
            {
                **self._client,
                "group.id": f"{self._group_id}-rebuild-{uuid.uuid4().hex[:6]}",  # never joined, never commits
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            }
        )
        states: dict[int, JoinState] = {}
        count = 0
        try:
            for number in numbers:
                plan = rebuild_plan([tp for tp in committed if tp.partition == number])
                states[number] = self._new_state(plan)
                count += self._reread(reader, states[number], plan.ranges)
        finally:
            reader.close()
        return states, count

    def _reread(self, reader: Consumer, state: JoinState, ranges: Ranges) -> int:
        if not ranges:
            return 0
        reader.assign([TopicPartition(topic, p, start) for (topic, p), (start, _) in ranges.items()])
        remaining = dict(ranges)
        count = 0
        deadline = time.monotonic() + self._timeout_s
        while remaining:
            if time.monotonic() > deadline:
                raise ServiceExit(
                    ExitCode.FATAL,
                    f"could not re-read {sorted(remaining)} within {self._timeout_s:.0f} s (MONITOR_REBUILD_TIMEOUT_S) "
                    "to rebuild the join state",
                )
            for message in reader.consume(1000, timeout=0.5):
                key = (message.topic() or "", message.partition() or 0)
                if key in remaining and self._read(message, state, remaining):
                    count += 1
        return count

    def _read(self, message: Message, state: JoinState, remaining: Ranges) -> bool:
        """Replay one message of a range into `state`; True when it was a record of the range."""
        key = (message.topic() or "", message.partition() or 0)
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                del remaining[key]  # the end of the partition: past the range's last record (markers follow it)
            elif error.fatal():
                raise ServiceExit(ExitCode.FATAL, f"re-reading {key} to rebuild the join state: {error.str()}")
            else:
                log.warning("re-reading %s to rebuild the join state: %s (waiting)", key, error.str())
            return False
        offset, end = message.offset() or 0, remaining[key][1]
        replayed = offset < end
        if replayed:
            self._replay(message, state)
        if offset + 1 >= end:
            del remaining[key]
        return replayed
