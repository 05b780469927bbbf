"""Write the AsyncAPI 3 document of the topics (`schemas/asyncapi.json`): each topic's default name and shape
beside the JSON Schema of its records.

`python -m kafka_common.asyncapi` rewrites it; a test fails when the committed file is stale.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from kafka_common.settings import TopicSettings
from kafka_common.topics import topic_specs
from schemas.generate import SCHEMA_DIR

ASYNCAPI_FILE = SCHEMA_DIR / "asyncapi.json"


def asyncapi() -> dict[str, Any]:
    """AsyncAPI 3.0 description of the topics: their default names and partition counts, whatever `TOPIC_*` says
    in the environment that runs it."""
    topics = TopicSettings.model_construct()
    key: dict[str, Any] = {"type": "string", "description": "flight id, UTF-8 (e.g. `LAN-226-20170101T2330`)"}

    specs = {spec.name: spec for spec in topic_specs(topics)}

    def channel(name: str, message: str, description: str) -> dict[str, Any]:
        """`message`: one message name, or several joined by `|` (told apart by their `kind` field). The topic's
        shape is what `flightdelay-kafka topics` creates."""
        spec = specs[name]
        return {
            "address": name,
            "description": description,
            "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in message.split("|")},
            "bindings": {
                "kafka": {
                    "topic": name,
                    "partitions": spec.partitions,
                    "replicas": spec.replication_factor,
                    "topicConfiguration": _topic_configuration(spec.config),
                    "bindingVersion": "0.5.0",
                }
            },
        }

    def message(schema_file: str, title: str, summary: str, key: dict[str, Any] = key) -> dict[str, Any]:
        return {
            "name": title,
            "title": title,
            "summary": summary,
            "contentType": "application/json",
            "payload": {"$ref": f"./{schema_file}"},
            "bindings": {"kafka": {"key": key, "bindingVersion": "0.5.0"}},
        }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "flight-delay streaming scorer",
            "version": "1.0.0",
            "description": "Scheduled SCL departures in; delay predictions (> 15 min) and dead letters out. "
            "Outputs are written in Kafka transactions: read them with isolation.level=read_committed.",
        },
        "defaultContentType": "application/json",
        "channels": {
            "flightEvents": channel(topics.input, "FlightEvent", "Scheduled flights to score, keyed by flight id."),
            "delayPredictions": channel(topics.predictions, "DelayPrediction", "One prediction per valid event."),
            "deadLetters": channel(topics.dead_letter, "DeadLetter", "Invalid input, bytes preserved, with reasons."),
            "shadowPredictions": channel(
                topics.shadow_predictions,
                "DelayPrediction",
                "The challenger's prediction of each valid event, while a challenger is set; written in the same "
                "transaction as the champion's.",
            ),
            "flightOutcomes": channel(
                topics.outcomes,
                "FlightOutcome",
                "Each flight's actual departure, keyed by flight id like its prediction, published once it departed.",
            ),
            "joinedPredictions": channel(
                topics.joined,
                "JoinedPrediction",
                "The monitor's output: each prediction (champion and challenger) with its flight's outcome.",
            ),
            "modelMetrics": channel(
                topics.model_metrics,
                "ModelMetricsReport|ModelComparisonReport|PerformanceEstimateReport|StreamConsistencyReport",
                "The monitor's online figures per model version and window, keyed by version (`kind`: figures), "
                "the paired comparison of each champion and challenger, keyed `<champion>..<challenger>` "
                "(`kind`: comparison), each version's figures estimated on its predictions still waiting for "
                "an outcome, keyed by version (`kind`: estimate), and each monitor instance's check of the stream "
                "features the predictions carried, keyed `stream-consistency/<instance>` (`kind`: stream_consistency).",
            ),
            "modelControl": channel(
                topics.model_control,
                "ModelControl",
                "Compacted, keyed by role: the model version each role holds. Every scorer follows it.",
            ),
            "modelFleet": channel(
                topics.model_fleet,
                "ServingStatus",
                "Compacted, keyed `<group>/<instance>`: what each scorer serves since when, and the last record it "
                "refused; a tombstone when it stops cleanly.",
            ),
        },
        "operations": {
            "publishFlightEvent": {"action": "send", "channel": {"$ref": "#/channels/flightEvents"}},
            "receiveDelayPrediction": {"action": "receive", "channel": {"$ref": "#/channels/delayPredictions"}},
            "receiveDeadLetter": {"action": "receive", "channel": {"$ref": "#/channels/deadLetters"}},
            "receiveShadowPrediction": {"action": "receive", "channel": {"$ref": "#/channels/shadowPredictions"}},
            "sendModelControl": {"action": "send", "channel": {"$ref": "#/channels/modelControl"}},
            "receiveServingStatus": {"action": "receive", "channel": {"$ref": "#/channels/modelFleet"}},
            "publishFlightOutcome": {"action": "send", "channel": {"$ref": "#/channels/flightOutcomes"}},
            "receiveJoinedPrediction": {"action": "receive", "channel": {"$ref": "#/channels/joinedPredictions"}},
            "receiveModelMetrics": {"action": "receive", "channel": {"$ref": "#/channels/modelMetrics"}},
        },
        "components": {
            "messages": {
                "FlightEvent": message(
                    "flight_event.schema.json",
                    "FlightEvent",
                    "One scheduled departure; dataset column names are accepted as aliases.",
                ),
                "DelayPrediction": message(
                    "delay_prediction.schema.json",
                    "DelayPrediction",
                    "Calibrated delay probability, decision and its reasons.",
                ),
                "DeadLetter": message(
                    "dead_letter.schema.json",
                    "DeadLetter",
                    "The original key, value and headers, and why they were rejected.",
                ),
                "FlightOutcome": message(
                    "flight_outcome.schema.json",
                    "FlightOutcome",
                    "Actual departure, delay in minutes and whether it was delayed more than 15 minutes.",
                ),
                "JoinedPrediction": message(
                    "joined_prediction.schema.json",
                    "JoinedPrediction",
                    "A prediction, its model version and role, and what became of the flight.",
                ),
                "ModelMetricsReport": message(
                    "model_metrics.schema.json",
                    "ModelMetricsReport",
                    "ROC-AUC, PR-AUC, recall, precision, F1, Brier, calibration error and delay rates of one window.",
                    {"type": "string", "description": "the model version"},
                ),
                "ModelComparisonReport": message(
                    "model_comparison.schema.json",
                    "ModelComparisonReport",
                    "Champion against challenger on the same flights: ROC-AUC and Brier gains with always-valid "
                    "intervals, recall at each threshold, and the autopilot's decision.",
                    {"type": "string", "description": "<champion version>..<challenger version>"},
                ),
                "PerformanceEstimateReport": message(
                    "performance_estimate.schema.json",
                    "PerformanceEstimateReport",
                    "ROC-AUC, recall, precision, F1 and Brier estimated from the probabilities of the predictions "
                    "still waiting for an outcome, with 95 % intervals.",
                    {"type": "string", "description": "the model version"},
                ),
                "StreamConsistencyReport": message(
                    "stream_consistency.schema.json",
                    "StreamConsistencyReport",
                    "Per stream feature, the values of joined predictions the monitor recomputed by the training "
                    "definition and those that differed from the values the prediction was scored with.",
                    {"type": "string", "description": "stream-consistency/<monitor instance>"},
                ),
                "ServingStatus": message(
                    "serving_status.schema.json",
                    "ServingStatus",
                    "The versions one scorer instance serves, since when, and the last control record it refused.",
                    {"type": "string", "description": "<consumer group>/<instance id>"},
                ),
                "ModelControl": message(
                    "model_control.schema.json",
                    "ModelControl",
                    "The model version of one role, pinned by its manifest's sha256; who asked and why.",
                    {"type": "string", "enum": ["champion", "challenger"], "description": "the role"},
                ),
            }
        },
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
