"""How far behind its input a service is, per partition: in records, and in seconds.

Records alone do not say whether a service is late: 5,000 records are seconds of a busy stream and weeks of an
airport's departures. The seconds come from the log's end as librdkafka's statistics report it (every few
seconds): the moment the end first passed the service's position is when the oldest record still waiting had
been written, at the latest. So the figure is a lower bound, exact to one statistics interval, that costs nothing
per record and does not trust the producers' clocks or the timestamps they set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

# Samples kept per partition; past it every other one is dropped, so a long stall keeps its start, coarser.
MAX_SAMPLES = 2048


class Reading(NamedTuple):
    """Where a partition ends and where the service will read next."""

    end: int
    position: int

    @property
    def records_behind(self) -> int:
        return max(self.end - self.position, 0)


def partition_reading(info: dict[str, Any], start_offset: int | None) -> Reading | None:
    """A partition's statistics read as a `Reading`; None while it is not fetched or either offset is unknown.

    The end is the one a read_committed reader sees (the last stable offset, else the high watermark). The position
    is the next offset the service will read (`app_offset`), else the committed offset librdkafka knows
    (at-least-once), else the one read from the group at assignment (`start_offset`): librdkafka's own
    `consumer_lag` counts from the committed offset only, which exactly-once never tells the consumer.
    """
    if info.get("fetch_state") != "active":
        return None
    stable, high = info.get("ls_offset", -1), info.get("hi_offset", -1)
    end = stable if stable >= 0 else high
    if end < 0:
        return None
    for position in (info.get("app_offset", -1), info.get("committed_offset", -1), start_offset):
        if position is not None and position >= 0:
            return Reading(int(end), int(position))
    return None


@dataclass
class EndHistory:
    """When a partition's end was seen to reach each offset: (seconds, end) pairs, the ends increasing."""

    samples: list[tuple[float, int]] = field(default_factory=list)

    def observe(self, now_s: float, end: int) -> None:
        if self.samples and end < self.samples[-1][1]:
            self.samples.clear()  # the log was truncated or the topic made anew: its history says nothing now
        if self.samples and end == self.samples[-1][1]:
            return  # nothing was written since: the earlier sample already says when the end got here
        self.samples.append((now_s, end))
        if len(self.samples) > MAX_SAMPLES:
            self.samples = self.samples[::2]

    def seconds_behind(self, now_s: float, reading: Reading) -> float:
        """How long the oldest record not yet read has waited at least; 0 when nothing waits.

        Samples whose end is at or before the position are forgotten: a position only moves back to re-read an
        aborted batch, and then the answer, taken from a later sample, is still a lower bound."""
        read = next((i for i, (_, seen) in enumerate(self.samples) if seen > reading.position), len(self.samples))
        del self.samples[:read]
        if reading.records_behind == 0 or not self.samples:
            return 0.0
        return max(now_s - self.samples[0][0], 0.0)
