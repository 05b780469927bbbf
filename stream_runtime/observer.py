"""What librdkafka's callbacks tell the runtime: whether the broker is reachable (from the statistics' broker
states and the error callback), whether access was refused, the lag, and the partitions assigned. They run inside
the loop's own client calls, on its thread."""

from __future__ import annotations

import logging

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from stream_runtime.exits import ExitCode, ServiceExit
from stream_runtime.health import HealthState
from stream_runtime.metrics import RuntimeMetrics
from stream_runtime.recovery import ACCESS_ERRORS

log = logging.getLogger("stream_runtime")

ACCESS_SETTINGS = "KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and KAFKA_SSL_CA_LOCATION"


class ClientObserver:
    """Turns client callbacks into health, metrics and logs; keeps the first access error for the loop."""

    def __init__(self, health: HealthState, metrics: RuntimeMetrics) -> None:
        self.health = health
        self.metrics = metrics
        self.access_error: KafkaError | None = None

    def on_client_error(self, error: KafkaError) -> None:
        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            self.health.report_broker(False)
        if error.code() in ACCESS_ERRORS:
            self.access_error = error
        log.warning("kafka: %s", error.str(), extra={"code": error.name()})

    def raise_on_access_error(self) -> None:
        """Credentials or TLS are wrong: retrying cannot help, so the process exits 2 with one line."""
        if self.access_error is not None:
            raise ServiceExit(
                ExitCode.CONFIG, f"cannot access the broker (check {ACCESS_SETTINGS}): {self.access_error.str()}"
            )

    def on_retry(self, call: str) -> None:
        self.metrics.retries.labels(call=call).inc()
        self.health.report_broker(False)  # librdkafka's reports wait while we retry: say so ourselves

    def on_stats(self, stats_json: str) -> None:
        self.health.report_broker(self.metrics.update_from_statistics(stats_json))

    def on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._rebalanced("assign", len(partitions), partitions, "assigned")
        committed: dict[tuple[str, int], int] = {}
        try:  # where the lag counts from until a record arrives
            found = consumer.committed(partitions, timeout=5)
            committed = {(tp.topic, tp.partition): tp.offset for tp in found if tp.offset >= 0}
        except KafkaException as exc:
            log.warning("reading committed offsets for the lag metric: %s", exc.args[0].str())
        self.metrics.partitions_assigned([(tp.topic, tp.partition) for tp in partitions], committed)

    def on_revoke(self, partitions: list[TopicPartition]) -> None:
        # Each batch commits (or aborts) before the next consume(), so nothing is open here.
        self._rebalanced("revoke", 0, partitions, "revoked")
        self.metrics.partitions_revoked((tp.topic, tp.partition) for tp in partitions)

    def on_lost(self, partitions: list[TopicPartition]) -> None:
        self._rebalanced("lost", 0, partitions, "partitions lost")
        self.metrics.partitions_revoked((tp.topic, tp.partition) for tp in partitions)

    def _rebalanced(self, kind: str, assigned: int, partitions: list[TopicPartition], message: str) -> None:
        self.health.assigned_partitions = assigned
        self.metrics.rebalances.labels(kind=kind).inc()
        by_topic: dict[str, list[int]] = {}
        for tp in sorted(partitions, key=lambda tp: (tp.topic, tp.partition)):
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        log.info(message, extra={"partitions": by_topic})  # a service reading several inputs says which
