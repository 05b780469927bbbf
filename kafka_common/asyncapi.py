"""Write the AsyncAPI 3 document of the topics (`schemas/asyncapi.json`): each topic's default name and shape
beside the JSON Schema of its records.

`python -m kafka_common.asyncapi` rewrites it; a test fails when the committed file is stale.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, Literal

from kafka_common.settings import TopicSettings
from kafka_common.topics import TopicSpec, topic_specs
from schemas.generate import SCHEMA_DIR

ASYNCAPI_FILE = SCHEMA_DIR / "asyncapi.json"
BINDING_VERSION = "0.5.0"
FLIGHT_ID_KEY: dict[str, Any] = {"type": "string", "description": "flight id, UTF-8 (e.g. `LAN-226-20170101T2330`)"}
VERSION_KEY: dict[str, Any] = {"type": "string", "description": "the model version"}


@dataclass(frozen=True)
class Channel:
    """One topic: the settings field that names it, what its records are (several are told apart by their `kind`
    field), and what a client of the service does with it."""

    name: str
    topic_field: str
    messages: tuple[str, ...]
    operation: str
    action: Literal["send", "receive"]
    description: str


@dataclass(frozen=True)
class Message:
    """One kind of record: its JSON Schema file (the generator's), and its key."""

    name: str
    schema_file: str
    summary: str
    key: dict[str, Any] = field(default_factory=lambda: FLIGHT_ID_KEY)


CHANNELS = (
    Channel("flightEvents", "input", ("FlightEvent",), "publishFlightEvent", "send",
            "Scheduled flights to score, keyed by flight id."),
    Channel("delayPredictions", "predictions", ("DelayPrediction",), "receiveDelayPrediction", "receive",
            "One prediction per valid event."),
    Channel("deadLetters", "dead_letter", ("DeadLetter",), "receiveDeadLetter", "receive",
            "Invalid input, bytes preserved, with reasons."),
    Channel("shadowPredictions", "shadow_predictions", ("DelayPrediction",), "receiveShadowPrediction", "receive",
            "The challenger's prediction of each valid event, while a challenger is set; written in the same "
            "transaction as the champion's."),
    Channel("flightOutcomes", "outcomes", ("FlightOutcome",), "publishFlightOutcome", "send",
            "Each flight's actual departure, keyed by flight id like its prediction, published once it departed."),
    Channel("joinedPredictions", "joined", ("JoinedPrediction",), "receiveJoinedPrediction", "receive",
            "The monitor's output: each prediction (champion and challenger) with its flight's outcome."),
    Channel("modelMetrics", "model_metrics",
            ("ModelMetricsReport", "ModelComparisonReport", "PerformanceEstimateReport", "StreamConsistencyReport"),
            "receiveModelMetrics", "receive",
            "The monitor's online figures per model version and window, keyed by version (`kind`: figures), "
            "the paired comparison of each champion and challenger, keyed `<champion>..<challenger>` "
            "(`kind`: comparison), each version's figures estimated on its predictions still waiting for "
            "an outcome, keyed by version (`kind`: estimate), and each monitor instance's check of the stream "
            "features the predictions carried, keyed `stream-consistency/<instance>` (`kind`: stream_consistency)."),
    Channel("modelControl", "model_control", ("ModelControl",), "sendModelControl", "send",
            "Compacted, keyed by role: the model version each role holds. Every scorer follows it."),
    Channel("modelFleet", "model_fleet", ("ServingStatus",), "receiveServingStatus", "receive",
            "Compacted, keyed `<group>/<instance>`: what each scorer serves since when, and the last record it "
            "refused; a tombstone when it stops cleanly."),
)  # fmt: skip

MESSAGES = (
    Message("FlightEvent", "flight_event.schema.json",
            "One scheduled departure; dataset column names are accepted as aliases."),
    Message("DelayPrediction", "delay_prediction.schema.json",
            "Calibrated delay probability, decision and its reasons."),
    Message("DeadLetter", "dead_letter.schema.json",
            "The original key, value and headers, and why they were rejected."),
    Message("FlightOutcome", "flight_outcome.schema.json",
            "Actual departure, delay in minutes and whether it was delayed more than 15 minutes."),
    Message("JoinedPrediction", "joined_prediction.schema.json",
            "A prediction, its model version and role, and what became of the flight."),
    Message("ModelMetricsReport", "model_metrics.schema.json",
            "ROC-AUC, PR-AUC, recall, precision, F1, Brier, calibration error and delay rates of one window.",
            VERSION_KEY),
    Message("ModelComparisonReport", "model_comparison.schema.json",
            "Champion against challenger on the same flights: ROC-AUC and Brier gains with always-valid "
            "intervals, recall at each threshold, and the autopilot's decision.",
            {"type": "string", "description": "<champion version>..<challenger version>"}),
    Message("PerformanceEstimateReport", "performance_estimate.schema.json",
            "ROC-AUC, recall, precision, F1 and Brier estimated from the probabilities of the predictions "
            "still waiting for an outcome, with 95 % intervals.",
            VERSION_KEY),
    Message("StreamConsistencyReport", "stream_consistency.schema.json",
            "Per stream feature, the values of joined predictions the monitor recomputed by the training "
            "definition and those that differed from the values the prediction was scored with.",
            {"type": "string", "description": "stream-consistency/<monitor instance>"}),
    Message("ServingStatus", "serving_status.schema.json",
            "The versions one scorer instance serves, since when, and the last control record it refused.",
            {"type": "string", "description": "<consumer group>/<instance id>"}),
    Message("ModelControl", "model_control.schema.json",
            "The model version of one role, pinned by its manifest's sha256; who asked and why.",
            {"type": "string", "enum": ["champion", "challenger"], "description": "the role"}),
)  # fmt: skip


def asyncapi() -> dict[str, Any]:
    """AsyncAPI 3.0 description of the topics: their default names, and their partitions and configuration as
    `flightdelay-kafka topics` creates them, whatever `TOPIC_*` says in the environment that runs it."""
    topics = TopicSettings.model_construct()
    specs = {spec.name: spec for spec in topic_specs(topics)}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "flight-delay streaming scorer",
            "version": "1.0.0",
            "description": "Scheduled SCL departures in; delay predictions (> 15 min) and dead letters out. "
            "Outputs are written in Kafka transactions: read them with isolation.level=read_committed.",
        },
        "defaultContentType": "application/json",
        "channels": {c.name: _channel(c, specs[getattr(topics, c.topic_field)]) for c in CHANNELS},
        "operations": {
            c.operation: {"action": c.action, "channel": {"$ref": f"#/channels/{c.name}"}} for c in CHANNELS
        },
        "components": {"messages": {m.name: _message(m) for m in MESSAGES}},
    }


def _channel(channel: Channel, spec: TopicSpec) -> dict[str, Any]:
    return {
        "address": spec.name,
        "description": channel.description,
        "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in channel.messages},
        "bindings": {
            "kafka": {
                "topic": spec.name,
                "partitions": spec.partitions,
                "replicas": spec.replication_factor,
                "topicConfiguration": _topic_configuration(spec.config),
                "bindingVersion": BINDING_VERSION,
            }
        },
    }


def _message(message: Message) -> dict[str, Any]:
    return {
        "name": message.name,
        "title": message.name,
        "summary": message.summary,
        "contentType": "application/json",
        "payload": {"$ref": f"./{message.schema_file}"},
        "bindings": {"kafka": {"key": message.key, "bindingVersion": BINDING_VERSION}},
    }


def _topic_configuration(config: dict[str, str]) -> dict[str, Any]:
    """A topic's configuration in the binding's types: the cleanup policy a list, sizes and times numbers."""
    return {name: value.split(",") if name == "cleanup.policy" else int(value) for name, value in config.items()}


def rendered() -> str:
    return json.dumps(asyncapi(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    ASYNCAPI_FILE.write_text(rendered())
    print(f"wrote {ASYNCAPI_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
