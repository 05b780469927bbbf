"""The rollout part of `make run`: while flights stream, a second model version enters as challenger, becomes
champion, and is rolled back, each step written to the model control topic as an operator would."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Producer
from rich.console import Console
from rich.table import Table

from kafka_common.model_control import ControlReader, latest_by_role, write_control
from producer.interrupt import StopRequest
from producer.replay import DeliveryReport, Scheduled, publish_schedule
from schemas import DelayPrediction
from schemas.model_control import ModelControl, ModelRole
from training.promotion import promotion, rollback, verified

# When each step happens, as a share of the flights sent.
STEPS = ((0.25, "challenger"), (0.5, "champion"), (0.75, "rollback"))


@dataclass(frozen=True)
class Rollout:
    config: dict[str, object]
    topic: str
    console: Console
    by: str = "make run"  # what the control records say asked for each step

    def lineup(self) -> dict[ModelRole, ModelControl]:
        reader = ControlReader(dict(self.config), self.topic, one_off=True)
        try:
            return latest_by_role(reader.read_to_end(timeout_s=30))
        finally:
            reader.close()

    def step(self, name: str, version: Path) -> None:
        """`champion` or `challenger` gives `version` that role; `rollback` ignores it."""
        if name == "rollback":
            record = rollback(self.lineup(), f"{self.by}: roll back")
        else:
            role = ModelRole.CHALLENGER if name == "challenger" else ModelRole.CHAMPION
            record = promotion(verified(str(version)), None, role, self.lineup(), f"{self.by}: {name}")
        write_control(dict(self.config), self.topic, record)
        held = record.model.version if record.model else "none"
        self.console.print(f"  [cyan]{record.role}[/] -> {held} ({record.reason})")


def publish_with_rollout(
    config: dict[str, object],
    schedule: list[Scheduled],
    rollout: Rollout,
    candidate: Path,
    on_sent: Callable[[], None],
    stop: StopRequest,
) -> DeliveryReport:
    """Send `schedule` while the steps run at their shares of the records sent; a stop ends the sending and the
    steps not yet taken."""
    sent = 0
    reports: list[DeliveryReport] = []

    def count() -> None:
        nonlocal sent
        sent += 1
        on_sent()

    def send() -> None:
        producer = Producer({**config, "enable.idempotence": True, "acks": "all"})
        reports.append(publish_schedule(producer, schedule, on_sent=count, stop=stop))

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    for share, name in STEPS:
        while sender.is_alive() and sent < share * len(schedule) and not stop.is_set():
            time.sleep(0.05)
        if stop.is_set():
            break
        rollout.step(name, candidate)
    sender.join()
    return reports[0] if reports else DeliveryReport(failed=len(schedule), first_error="the sender thread failed")


def versions_table(predictions: list[DelayPrediction], shadow: list[DelayPrediction]) -> Table:
    table = Table(title="predictions by model version")
    for column in ("topic", "version", "predictions", "share delayed", "mean P(delay)"):
        table.add_column(column)
    for name, outputs in (("predictions", predictions), ("shadow", shadow)):
        for version, count in sorted(Counter(p.model_version for p in outputs).items()):
            chosen = [p for p in outputs if p.model_version == version]
            delayed = sum(p.delayed for p in chosen) / count
            mean = sum(p.delay_probability for p in chosen) / count
            table.add_row(name, version, f"{count:,}", f"{delayed:.1%}", f"{mean:.3f}")
    return table
