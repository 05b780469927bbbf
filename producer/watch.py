"""A live table of predictions as they are committed."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.live import Live
from rich.table import Table

from producer.interrupt import StopRequest
from producer.reading import committed_reader, read_messages
from schemas import DelayPrediction


def pushes(log_odds: float) -> str:
    """Which way a term pushes the prediction, in words."""
    return "towards delay" if log_odds > 0 else "towards on time"


def prediction_table(rows: list[DelayPrediction], title: str) -> Table:
    table = Table(title=title)
    for column in ("flight", "scheduled (SCL)", "P(delay)", "delayed", "main reason", "unseen"):
        table.add_column(column)
    for p in rows:
        reason = p.top_contributions[0] if p.top_contributions else None
        table.add_row(
            p.flight_id,
            p.scheduled_departure.strftime("%Y-%m-%d %H:%M"),
            f"{p.delay_probability:.2f}",
            "[red]yes[/]" if p.delayed else "no",
            f"{reason.feature} ({reason.log_odds:+.2f}, {pushes(reason.log_odds)})" if reason else "",
            ", ".join(p.unseen_categories),
        )
    return table


@dataclass
class Watched:
    """What a watch read: predictions, and records of the topic that are not one (skipped, the first named)."""

    predictions: int = 0
    skipped: int = 0
    first_skipped: str = ""

    def summary(self) -> str:
        line = f"{self.predictions:,} predictions read"
        if self.skipped:
            noun = "record that is not a prediction" if self.skipped == 1 else "records that are not predictions"
            line += f"; {self.skipped:,} {noun} skipped, the first {self.first_skipped}"
        return line


def watch(
    config: dict[str, Any],
    topic: str,
    limit: int,
    idle_timeout_s: float,
    from_beginning: bool,
    console: Console,
    stop: StopRequest | None = None,
    rows: int = 15,
) -> Watched:
    """Show the latest `rows` predictions until `limit` were read, the topic is idle or `stop` is set. A record
    that is not a prediction is counted and skipped: the table goes on."""
    consumer = committed_reader(config, [topic], from_beginning)
    recent: deque[DelayPrediction] = deque(maxlen=rows)
    stop = stop or StopRequest()
    watched = Watched()

    def enough() -> bool:
        return 0 < limit <= watched.predictions or stop.is_set()

    try:
        with Live(prediction_table([], f"{topic}: waiting"), console=console, refresh_per_second=4) as live:
            for message in read_messages(consumer, enough, idle_timeout_s, float("inf")):
                try:
                    recent.appendleft(DelayPrediction.model_validate_json(message.value() or b""))
                except ValidationError as exc:
                    watched.skipped += 1
                    where = f"at partition {message.partition()}, offset {message.offset()}"
                    watched.first_skipped = watched.first_skipped or f"{where}: {exc.errors()[0]['msg']}"
                    continue
                watched.predictions += 1
                live.update(prediction_table(list(recent), table_title(topic, len(recent), watched.predictions)))
                if enough():  # a consumed batch may hold more than the limit
                    break
    finally:
        consumer.close()
    if not console.is_terminal:  # rich ends a live display with a line break only on a terminal
        console.line()
    return watched


def table_title(topic: str, shown: int, read: int) -> str:
    """What the table holds, truthfully: the latest rows of all read so far."""
    return f"{topic}: {read:,} predictions read" + (f", the latest {shown:,} shown" if shown < read else "")
