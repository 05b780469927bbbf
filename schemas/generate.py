"""Write the JSON Schema files from the pydantic models (the AsyncAPI document that names the topics is
`kafka_common.asyncapi`'s, beside them).

`python -m schemas.generate` rewrites them; a test fails when a committed file is stale.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from schemas.flight_event import FlightEvent
from schemas.model_control import ModelControl, ServingStatus
from schemas.monitoring import (
    JoinedPrediction,
    ModelComparisonReport,
    ModelMetricsReport,
    PerformanceEstimateReport,
    StreamConsistencyReport,
)
from schemas.outcome import FlightOutcome
from schemas.outputs import DeadLetter, DelayPrediction

SCHEMA_DIR = Path(__file__).resolve().parent
SCHEMA_FILES: dict[str, Callable[[], dict[str, Any]]] = {
    "flight_event.schema.json": lambda: FlightEvent.model_json_schema(mode="validation"),
    "delay_prediction.schema.json": lambda: DelayPrediction.model_json_schema(mode="serialization"),
    "dead_letter.schema.json": lambda: DeadLetter.model_json_schema(mode="serialization"),
    "model_control.schema.json": lambda: ModelControl.model_json_schema(mode="validation"),
    "serving_status.schema.json": lambda: ServingStatus.model_json_schema(mode="validation"),
    "flight_outcome.schema.json": lambda: FlightOutcome.model_json_schema(mode="validation"),
    "joined_prediction.schema.json": lambda: JoinedPrediction.model_json_schema(mode="serialization"),
    "model_metrics.schema.json": lambda: ModelMetricsReport.model_json_schema(mode="serialization"),
    "model_comparison.schema.json": lambda: ModelComparisonReport.model_json_schema(mode="serialization"),
    "performance_estimate.schema.json": lambda: PerformanceEstimateReport.model_json_schema(mode="serialization"),
    "stream_consistency.schema.json": lambda: StreamConsistencyReport.model_json_schema(mode="serialization"),
}


def rendered() -> dict[str, str]:
    """File name -> exact text the generator writes."""
    files = {name: build() for name, build in SCHEMA_FILES.items()}
    return {name: json.dumps(content, indent=2, ensure_ascii=False) + "\n" for name, content in files.items()}


def main() -> int:
    for name, text in rendered().items():
        (SCHEMA_DIR / name).write_text(text)
        print(f"wrote {SCHEMA_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
