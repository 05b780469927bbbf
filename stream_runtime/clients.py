"""The services' Kafka client settings, in one place: every processor on the runtime gets the same ones."""

from __future__ import annotations

from typing import Any

from stream_runtime.settings import StreamSettings

# Room for a batch's outputs in one partition's queue, judged generously: a prediction is about 600 bytes. Once a
# partition's queue holds `batch.size` bytes, librdkafka wakes its broker thread for every further message (one
# wakeup per output, measured: 5x the producer thread's CPU) until the queue drains. Compressed, such a request
# stays well under the broker's default 1 MB per batch (predictions are JSON, about a sixth with lz4); the
# dead-letter topic, whose letters may not compress, is created with a larger limit.
OUTPUT_BYTES_PER_EVENT = 1024

# Small requests go out at once: with Nagle's algorithm, each of a transaction's sequential requests could wait
# for a delayed ACK (tens of milliseconds each, measured in the benchmark's latency runs).
LOW_LATENCY = {"socket.nagle.disable": True}


def consumer_config(base: dict[str, Any], settings: StreamSettings) -> dict[str, Any]:
    """Manual commits, read_committed, fetches no longer than one batch wait."""
    return {
        **base,
        **LOW_LATENCY,
        "group.id": settings.group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "session.timeout.ms": settings.session_timeout_ms,
        "heartbeat.interval.ms": max(settings.session_timeout_ms // 5, 500),
        "fetch.wait.max.ms": min(settings.batch_max_wait_ms, 500),
        # Prefetch a few batches, not librdkafka's default 64 MB: memory stays flat on a large backlog.
        "queued.max.messages.kbytes": 8 * 1024,
        "fetch.max.bytes": 4 * 1024 * 1024,
    }


def producer_config(base: dict[str, Any], settings: StreamSettings, max_message_bytes: int) -> dict[str, Any]:
    """Idempotent, acks=all, lz4, a short linger; transactional when exactly-once."""
    config: dict[str, Any] = {
        **base,
        **LOW_LATENCY,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": settings.linger_ms,
        "compression.type": "lz4",
        # Back-to-back transactions meet CONCURRENT_TRANSACTIONS while the previous one's markers are written;
        # retrying after 10 ms instead of 100 ms shortened each transaction here (see docs/benchmarks.md).
        "retry.backoff.ms": 10,
        "queue.buffering.max.messages": max(100_000, 4 * settings.batch_size),
        "queue.buffering.max.kbytes": 64 * 1024,
        "message.max.bytes": max_message_bytes + 64 * 1024,  # the largest output, and room for its headers
    }
    config["batch.size"] = min(
        max(1_000_000, settings.batch_size * OUTPUT_BYTES_PER_EVENT), config["message.max.bytes"]
    )
    if settings.exactly_once:
        config |= {
            "transactional.id": settings.transactional_id,
            "transaction.timeout.ms": settings.transaction_timeout_ms,
        }
    return config
