"""Contender `quixstreams`: the same model on the same topic as a Quix Streams application.

Runs in the benchmark's own environment (`.venv-bench`, see bench/requirements.txt). Quix Streams hands over one
record at a time, so the record is validated with the same contract (`FlightEvent`) and scored with
`bench.per_record` (coefficient lookups, equal to the pipeline). Quix commits on its own schedule, with its
own exactly-once (transactions) or at-least-once setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quixstreams import Application

from bench.child import arguments
from bench.per_record import PerRecordScorer
from schemas import FlightEvent
from training.artifact import load_artifact


def main() -> None:
    args = arguments(__doc__ or "")
    model = load_artifact(Path(args.models))
    scorer = PerRecordScorer(model.pipeline)
    threshold, version = model.threshold, model.version

    def score(value: dict[str, Any]) -> dict[str, Any]:
        event = FlightEvent.model_validate(value)
        probability, terms = scorer.score(event.model_record())
        return {
            "flight_id": event.resolved_id(),
            "delay_probability": probability,
            "delayed": probability >= threshold,
            "threshold": threshold,
            "model_version": version,
            "top_contributions": [{"feature": label, "log_odds": weight} for label, weight in terms],
            "scheduled_departure": event.scheduled_departure.isoformat(),
        }

    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        processing_guarantee="exactly-once" if args.mode == "eos" else "at-least-once",
        auto_create_topics=False,
        loglevel="WARNING",
    )
    source = app.topic(args.input, value_deserializer="json")
    target = app.topic(args.output, value_serializer="json")
    app.dataframe(source).apply(score).to_topic(target)
    app.run()


if __name__ == "__main__":
    main()
