"""A live recorder of the scorers' committed outputs, and the file the reliability scenarios write their figures to."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from kafka_common.settings import TopicSettings
from producer.reading import committed_reader, parse_output
from schemas import DelayPrediction

FIGURES_FILE = Path(__file__).resolve().parents[2] / "build" / "reliability-figures.json"
# Outputs are settled when none arrived for longer than an open transaction can stay open: the scorers'
# transaction timeout (SCORER_TRANSACTION_TIMEOUT_MS, 5 s) plus the local broker's abort-check interval (1 s).
SETTLED_AFTER_S = 5 + 1 + 1


class OutputRecorder:
    """Reads both output topics with read_committed in a thread, noting when each record became visible."""

    def __init__(self, config: dict[str, Any], topics: TopicSettings) -> None:
        self.topics = topics
        self._consumer = committed_reader(config, [topics.predictions, topics.dead_letter])
        # (time, kind, source partition, source offset, key, the prediction's probability)
        self.arrivals: list[tuple[float, str, int, int, bytes, float | None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for message in self._consumer.consume(1000, timeout=0.2):
                if message.error() is not None:
                    continue
                output = parse_output(message, self.topics.predictions)
                is_prediction = isinstance(output, DelayPrediction)
                kind = "prediction" if is_prediction else "dead_letter"
                probability = output.delay_probability if isinstance(output, DelayPrediction) else None
                source = output.source
                arrival = (time.monotonic(), kind, source.partition, source.offset, message.key() or b"", probability)
                with self._lock:
                    self.arrivals.append(arrival)
        self._consumer.close()

    def count(self) -> int:
        with self._lock:
            return len(self.arrivals)

    def wait_for(self, count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.count() < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.count()} of {count} outputs after {timeout_s:.0f} s")
            time.sleep(0.02)

    def settle(self, quiet_s: float = SETTLED_AFTER_S) -> None:
        """Wait until nothing new arrived for `quiet_s`: longer than any transaction can stay open, so a late
        output (a duplicate from a zombie's transaction) would have shown up."""
        last = self.count()
        while True:
            time.sleep(quiet_s)
            if self.count() == last:
                return
            last = self.count()

    def first_after(self, moment: float, partitions: set[int] | None = None) -> float | None:
        with self._lock:
            times = [a[0] for a in self.arrivals if a[0] > moment and (partitions is None or a[2] in partitions)]
        return min(times) if times else None

    def longest_gap(self, start: float, end: float, partitions: set[int] | None = None) -> float:
        """Longest time without a new output (from `partitions`) between `start` and `end`: the stall."""
        with self._lock:
            times = sorted(
                a[0] for a in self.arrivals if start <= a[0] <= end and (partitions is None or a[2] in partitions)
            )
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)

    def summary(self) -> tuple[Counter[str], Counter[tuple[int, int]]]:
        with self._lock:
            kinds = Counter(a[1] for a in self.arrivals)
            positions = Counter((a[2], a[3]) for a in self.arrivals)
        return kinds, positions

    def by_key(self) -> tuple[Counter[bytes], Counter[bytes], dict[bytes, list[float]]]:
        """Keys of the predictions and of the dead letters, and each prediction key's probabilities."""
        with self._lock:
            arrivals = list(self.arrivals)
        predicted = Counter(a[4] for a in arrivals if a[1] == "prediction")
        dead = Counter(a[4] for a in arrivals if a[1] == "dead_letter")
        probabilities: dict[bytes, list[float]] = {}
        for arrival in arrivals:
            if arrival[5] is not None:
                probabilities.setdefault(arrival[4], []).append(arrival[5])
        return predicted, dead, probabilities

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
