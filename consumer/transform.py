"""A batch of input records in, what it writes out: predictions, dead letters, offsets and counts. No Kafka client.

Validation takes the fast path (`consumer.columnar`) for what it can decide and the pydantic contract for the
rest; scoring is column-wise (`consumer.scoring`); predictions are written straight to JSON bytes. The loop
decides what happens to the result (commit it, or fail closed); this module only computes it, so unit tests
feed it plain objects.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from confluent_kafka import TopicPartition

from consumer.columnar import Columns, FastValidator
from consumer.encoding import encode_predictions
from consumer.invalid_limit import InvalidRuns
from consumer.records import Record, next_offsets
from consumer.scoring import BatchScorer, ScoredBatch
from consumer.validation import Rejection, validate_batch
from schemas import DeadLetter, FieldError, Header, SourcePosition

log = logging.getLogger("consumer")
Pairs = list[tuple[bytes | None, bytes]]


class OutputKind(StrEnum):
    PREDICTION = "prediction"  # the champion's
    DEAD_LETTER = "dead_letter"
    SHADOW = "shadow"  # the challenger's, for comparison only


@dataclass(frozen=True)
class ModelStats:
    """What one model did in one batch: the per-version metrics come from these."""

    role: str
    version: str
    scored: int
    delayed: int
    probability_sum: float
    seconds: float


@dataclass(frozen=True)
class BatchResult:
    """What one batch writes, and what the loop counts and checks."""

    outputs: dict[OutputKind, Pairs]  # (key, value) pairs by kind, in input order
    offsets: list[TopicPartition]  # one past each partition's last record
    valid: int  # events the contract accepts
    invalid: int  # events it rejects (what the fail-closed limit counts)
    dead_lettered: dict[str, int]  # by error kind, the unscorable included
    by_contract: int  # events the fast path left to the pydantic contract
    invalid_runs: InvalidRuns  # where the invalid events stand in the batch (the consecutive limit reads it)
    timestamps_ms: list[int]  # of the input records that carry one (end-to-end latency)
    models: list[ModelStats]  # the champion's, then the challenger's when one scored the batch

    @property
    def consumed(self) -> int:
        return self.valid + self.invalid


class BatchTransform:
    """Turns a batch of records into a `BatchResult` with one champion (and at most one challenger, scored in
    shadow on the same valid events), one validator and the dead-letter limits. A new model means a new
    transform: the loop builds one between two batches, so no batch is scored by two champions."""

    def __init__(
        self,
        scorer: BatchScorer,
        *,
        challenger: BatchScorer | None = None,
        group_id: str,
        max_payload_bytes: int,
        dead_letter_max_value_bytes: int,
    ) -> None:
        self.scorer = scorer
        self.challenger = challenger
        self.group_id = group_id
        self.max_payload_bytes = max_payload_bytes
        self.dead_letter_max_value_bytes = dead_letter_max_value_bytes
        self.validator = FastValidator(max_payload_bytes, scorer.known_airlines)

    def __call__(self, records: Sequence[Record], now: datetime) -> BatchResult:
        values = [record.value() for record in records]
        columns, deferred = self.validator.split(values)
        rejected: list[tuple[int, Rejection]] = []
        if deferred:
            verdicts = validate_batch([values[p] for p in deferred], self.max_payload_bytes, self.scorer.known_airlines)
            for position, verdict in zip(deferred, verdicts, strict=True):
                if isinstance(verdict, Rejection):
                    rejected.append((position, verdict))
                else:
                    columns.add(position, verdict)
            columns = columns.in_order()
        invalid = len(rejected)
        runs = InvalidRuns.of(len(records), sorted(position for position, _ in rejected))
        started = time.perf_counter()
        columns, scored, unscorable = self._score(columns)
        stats = [_stats("champion", self.scorer, scored, time.perf_counter() - started)]
        rejected += unscorable
        rejected.sort(key=lambda item: item[0])
        letters: Pairs = [(records[p].key(), self._dead_letter(records[p], r, now)) for p, r in rejected]
        timestamps = [stamp for kind, stamp in (record.timestamp() for record in records) if kind != 0 and stamp > 0]
        outputs = {
            OutputKind.PREDICTION: self._predictions(records, columns, scored, self.scorer, now),
            OutputKind.DEAD_LETTER: letters,
        }
        if self.challenger is not None:
            outputs[OutputKind.SHADOW] = self._shadow(records, columns, self.challenger, now, stats)
        return BatchResult(
            outputs=outputs,
            offsets=next_offsets(records),
            valid=len(records) - invalid,
            invalid=invalid,
            dead_lettered=dict(Counter(rejection.kind for _, rejection in rejected)),
            by_contract=len(deferred),
            invalid_runs=runs,
            timestamps_ms=timestamps,
            models=stats,
        )

    def _score(self, columns: Columns) -> tuple[Columns, ScoredBatch, list[tuple[int, Rejection]]]:
        """Score the batch in one call; if that fails, score event by event and dead-letter the ones that fail.

        A valid event the model still cannot score is a bug to fix, but it must not stop the stream.
        """
        try:
            return columns, self.scorer.score(columns), []
        except Exception:
            log.exception("batch scoring failed; isolating the events that cannot be scored")
        scorable: list[int] = []
        unscorable: list[tuple[int, Rejection]] = []
        for index in range(len(columns)):
            try:
                self.scorer.score(columns.select([index]))
                scorable.append(index)
            except Exception as exc:  # deliberately broad: any failure makes this one event unscorable
                reason = f"valid event the model could not score: {type(exc).__name__}: {exc}"
                error = FieldError(field="$", error="unscorable", message=reason)
                unscorable.append((columns.rows[index], Rejection("unscorable", reason, [error])))
        kept = columns.select(scorable)
        return kept, self.scorer.score(kept), unscorable

    def _shadow(
        self,
        records: Sequence[Record],
        columns: Columns,
        challenger: BatchScorer,
        now: datetime,
        stats: list[ModelStats],
    ) -> Pairs:
        """The challenger's predictions of the events the champion scored. A challenger that fails costs only
        its shadow: the champion's outputs of the batch go on."""
        started = time.perf_counter()
        try:
            scored = challenger.score(columns)
        except Exception:  # deliberately broad: a candidate model must never stop the stream
            log.exception("challenger %s failed on a batch; no shadow predictions for it", challenger.model.version)
            return []
        stats.append(_stats("challenger", challenger, scored, time.perf_counter() - started))
        return self._predictions(records, columns, scored, challenger, now)

    def _predictions(
        self, records: Sequence[Record], columns: Columns, scored: ScoredBatch, scorer: BatchScorer, now: datetime
    ) -> Pairs:
        chosen = [records[p] for p in columns.rows]
        ids = columns.resolved_ids([record.key() for record in chosen])
        model = scorer.model
        values = encode_predictions(
            flight_ids=ids,
            probabilities=scored.probabilities.tolist(),
            threshold=model.threshold,
            model_version=model.version,
            contributions=scored.contribution_json,
            unseen=scored.unseen,
            scheduled_departures=columns.departure,
            timestamps_ms=[record.timestamp()[1] for record in chosen],
            scored_at=now,
            topics=[record.topic() for record in chosen],
            partitions=[record.partition() for record in chosen],
            offsets=[record.offset() for record in chosen],
        )
        return [(flight_id.encode(), value) for flight_id, value in zip(ids, values, strict=True)]

    def _dead_letter(self, record: Record, rejection: Rejection, now: datetime) -> bytes:
        value = record.value()
        size = len(value or b"")
        letter = DeadLetter(
            error_kind=rejection.kind,
            reason=rejection.reason,
            errors=rejection.errors,
            key_base64=_b64(record.key()),
            value_base64=_b64(value) if size <= self.dead_letter_max_value_bytes else None,
            value_bytes=size,
            value_sha256=hashlib.sha256(value).hexdigest() if value is not None else None,
            headers=_headers(record),
            source=SourcePosition(
                topic=record.topic() or "", partition=record.partition() or 0, offset=record.offset() or 0
            ),
            consumer_group=self.group_id,
            dead_lettered_at=now,
        )
        return letter.model_dump_json().encode()


def _stats(role: str, scorer: BatchScorer, scored: ScoredBatch, seconds: float) -> ModelStats:
    probabilities = scored.probabilities
    return ModelStats(
        role=role,
        version=scorer.model.version,
        scored=len(probabilities),
        delayed=int((probabilities >= scorer.model.threshold).sum()),
        probability_sum=float(probabilities.sum()),
        seconds=seconds,
    )


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _headers(record: Record) -> list[Header]:
    """Original headers, values base64-encoded (Kafka header values are bytes, or null)."""
    result: list[Header] = []
    headers = record.headers() or []
    for key, value in headers.items() if isinstance(headers, dict) else headers:
        raw = value.encode() if isinstance(value, str) else value
        result.append(Header(key=key, value_base64=_b64(raw)))
    return result
