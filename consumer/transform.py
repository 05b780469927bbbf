"""A batch of input records in, what it writes out: predictions, dead letters, offsets and counts. No Kafka client.

The compiled lane (`consumer.native_lane`) decodes, checks, scores and writes the events it can decide; the
Python path takes the rest: its fast validator (`consumer.columnar`) what it can decide, the pydantic contract
the remainder (and every rejection's reasons); its scoring is column-wise (`consumer.scoring`) and its
predictions go straight to JSON bytes. Both lanes write the same bytes for the same event. The loop
decides what happens to the result (commit it, or fail closed); this module only computes it, so unit tests
feed it plain objects.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np
from confluent_kafka import TopicPartition

from consumer.columnar import Columns, FastValidator
from consumer.encoding import encode_predictions
from consumer.invalid_limit import InvalidRuns
from consumer.native_lane import CompiledLane, Kept, Predicted, StreamInput
from consumer.scoring import BatchScorer, ScoredBatch
from consumer.validation import Rejection, validate_batch
from schemas import DeadLetter, FieldError, Header, SourcePosition
from schemas.model_control import ModelRole
from stream_runtime.records import Record, RecordFields
from training.departures_table import FeatureSource, known_at_many
from training.stream_features import stream_keys
from training.stream_state import CompiledStreamState

log = logging.getLogger("consumer")
Pairs = list[tuple[bytes | None, bytes]]
Stream = np.ndarray[Any, Any] | None  # the accepted events' stream features, when a version served reads them


class OutputKind(StrEnum):
    PREDICTION = "prediction"  # the champion's
    DEAD_LETTER = "dead_letter"
    SHADOW = "shadow"  # the challenger's, for comparison only


@dataclass(frozen=True)
class ModelStats:
    """What one model did in one batch: the per-version metrics come from these."""

    role: ModelRole
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
    by_native: int  # events the compiled lane decided
    by_contract: int  # events the Python fast path left to the pydantic contract
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
        compiled: bool = True,
        departures: FeatureSource | None = None,
    ) -> None:
        self.scorer = scorer
        self.challenger = challenger
        self.group_id = group_id
        self.max_payload_bytes = max_payload_bytes
        self.dead_letter_max_value_bytes = dead_letter_max_value_bytes
        self.validator = FastValidator(max_payload_bytes, scorer.known_airlines)
        # The outcomes the stream features come from, when a version served reads them.
        self.departures = departures if any(m and m.reads_stream_features for m in (scorer, challenger)) else None
        held = self.departures.state if self.departures is not None else None
        self.lane = CompiledLane.build(max_payload_bytes, scorer, challenger, held) if compiled else None

    def __call__(self, records: Sequence[Record], now: datetime, stream_current: bool = True) -> BatchResult:
        """`stream_current`: whether the departures were read to their end before this batch (what a prediction
        of a stream-feature version reports)."""
        fields = RecordFields.of(records)
        kept = self.lane.validator.split(fields) if self.lane else None
        pending = kept.deferred if kept is not None else range(len(records))
        columns, rejected, by_contract = self._validate(fields.values, pending)
        invalid = len(rejected)
        runs = InvalidRuns.of(len(records), sorted(position for position, _ in rejected))
        columns, unwritable = _writable(columns, fields)
        started = time.perf_counter()
        stream = self._stream_features(records, fields, columns)
        columns, stream, scored, unscorable = self._score(columns, stream)
        champion = self._predictions(fields, columns, scored, self.scorer, now, stream, stream_current)
        kept_stream = self._kept_stream(records, fields, kept, stream_current)
        if kept is not None and self.lane is not None:
            champion = champion.merged(self.lane.champion.predict(kept, fields, now, kept_stream))
        stats = [_stats(ModelRole.CHAMPION, self.scorer, champion.probabilities, time.perf_counter() - started)]
        rejected += unwritable + unscorable
        rejected.sort(key=lambda item: item[0])
        letters: Pairs = [(fields.keys[p], self._dead_letter(records[p], r, now)) for p, r in rejected]
        outputs = {OutputKind.PREDICTION: champion.pairs, OutputKind.DEAD_LETTER: letters}
        if self.challenger is not None:
            outputs[OutputKind.SHADOW] = self._shadow(
                fields, kept, columns, (stream, kept_stream), stream_current, self.challenger, now, stats
            )
        return BatchResult(
            outputs=outputs,
            offsets=fields.next_offsets(),
            valid=len(records) - invalid,
            invalid=invalid,
            dead_lettered=dict(Counter(rejection.kind for _, rejection in rejected)),
            by_native=len(kept) if kept is not None else 0,
            by_contract=by_contract,
            invalid_runs=runs,
            timestamps_ms=[stamp for kind, stamp in fields.timestamps if kind != 0 and stamp > 0],
            models=stats,
        )

    def _validate(
        self, values: list[bytes | None], pending: Sequence[int]
    ) -> tuple[Columns, list[tuple[int, Rejection]], int]:
        """The Python path's verdicts on the records at `pending`: accepted events, rejections, and how many
        of them the pydantic contract decided."""
        subset = values if len(pending) == len(values) else [values[p] for p in pending]
        columns, deferred = self.validator.split(subset)
        if subset is not values:
            columns.rows = [pending[row] for row in columns.rows]
            deferred = [pending[row] for row in deferred]
        rejected: list[tuple[int, Rejection]] = []
        if deferred:
            verdicts = validate_batch([values[p] for p in deferred], self.max_payload_bytes, self.scorer.known_airlines)
            for position, verdict in zip(deferred, verdicts, strict=True):
                if isinstance(verdict, Rejection):
                    rejected.append((position, verdict))
                else:
                    columns.add(position, verdict)
            columns = columns.in_order()
        return columns, rejected, len(deferred)

    def _stream_features(self, records: Sequence[Record], fields: RecordFields, columns: Columns) -> Stream:
        """The stream features of the accepted events, from the outcomes known before each (None when no version
        served reads them)."""
        if self.departures is None:
            return None
        rows = columns.rows
        known = known_at_many(records, rows, fields.milliseconds)
        keys = [
            stream_keys(*event)
            for event in zip(
                columns.airline_name, columns.destination, columns.airline_code, columns.flight_number, strict=True
            )
        ]
        return self.departures.features(known, keys)

    def _kept_stream(
        self, records: Sequence[Record], fields: RecordFields, kept: Kept | None, current: bool
    ) -> StreamInput | None:
        """What the compiled lane needs to compute the kept events' stream features from the outcomes held."""
        if self.departures is None or kept is None or not isinstance(self.departures.state, CompiledStreamState):
            return None
        known = known_at_many(records, kept.positions, fields.milliseconds)
        self.departures.asked(known)
        return StreamInput(self.departures.state, known, current)

    def _score(
        self, columns: Columns, stream: Stream
    ) -> tuple[Columns, Stream, ScoredBatch, list[tuple[int, Rejection]]]:
        """Score the batch in one call; if that fails, score event by event and dead-letter the ones that fail.

        A valid event the model still cannot score is a bug to fix, but it must not stop the stream.
        """
        try:
            return columns, stream, self.scorer.score(columns, stream), []
        except Exception:
            log.exception("batch scoring failed; isolating the events that cannot be scored")
        scorable: list[int] = []
        unscorable: list[tuple[int, Rejection]] = []
        for index in range(len(columns)):
            try:
                self.scorer.score(columns.select([index]), None if stream is None else stream[[index]])
                scorable.append(index)
            except Exception as exc:  # deliberately broad: any failure makes this one event unscorable
                reason = f"valid event the model could not score: {type(exc).__name__}: {exc}"
                error = FieldError(field="$", error="unscorable", message=reason)
                unscorable.append((columns.rows[index], Rejection("unscorable", reason, [error])))
        kept = columns.select(scorable)
        kept_stream = None if stream is None else stream[scorable]
        return kept, kept_stream, self.scorer.score(kept, kept_stream), unscorable

    def _shadow(
        self,
        fields: RecordFields,
        kept: Kept | None,
        columns: Columns,
        streams: tuple[Stream, StreamInput | None],
        stream_current: bool,
        challenger: BatchScorer,
        now: datetime,
        stats: list[ModelStats],
    ) -> Pairs:
        """The challenger's predictions of the events the champion scored (`streams`: the stream features of
        the Python path's events, and what the compiled lane computes its own from). A challenger that fails
        costs only its shadow: the champion's outputs of the batch go on."""
        started = time.perf_counter()
        stream, kept_stream = streams
        try:
            scored = challenger.score(columns, stream)
            shadow = self._predictions(fields, columns, scored, challenger, now, stream, stream_current)
            if kept is not None and self.lane is not None and self.lane.challenger is not None:
                shadow = shadow.merged(self.lane.challenger.predict(kept, fields, now, kept_stream))
        except Exception:  # deliberately broad: a candidate model must never stop the stream
            log.exception("challenger %s failed on a batch; no shadow predictions for it", challenger.model.version)
            return []
        stats.append(_stats(ModelRole.CHALLENGER, challenger, shadow.probabilities, time.perf_counter() - started))
        return shadow.pairs

    def _predictions(
        self,
        fields: RecordFields,
        columns: Columns,
        scored: ScoredBatch,
        scorer: BatchScorer,
        now: datetime,
        stream: Stream = None,
        stream_current: bool = True,
    ) -> Predicted:
        rows = columns.rows
        read = stream is not None and scorer.reads_stream_features
        ids = columns.resolved_ids([fields.keys[p] for p in rows])
        model = scorer.model
        values = encode_predictions(
            flight_ids=ids,
            probabilities=scored.probabilities.tolist(),
            threshold=model.threshold,
            model_version=model.version,
            contributions=scored.contribution_json,
            unseen=scored.unseen,
            scheduled_departures=columns.departure,
            timestamps_ms=[fields.milliseconds[p] for p in rows],
            scored_at=now,
            topics=[fields.topics[p] for p in rows],
            partitions=[fields.partitions[p] for p in rows],
            offsets=[fields.offsets[p] for p in rows],
            stream_features=stream_values(stream) if read and stream is not None else None,
            stream_current=stream_current if read else None,
        )
        pairs: Pairs = [(flight_id.encode(), value) for flight_id, value in zip(ids, values, strict=True)]
        return Predicted(rows, pairs, scored.probabilities.tolist())

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


# Record timestamps a prediction's `event_time` can carry: the milliseconds of years 1-9999.
_WRITABLE_MS = range(-62_135_596_800_000, 253_402_300_800_000)


def _writable(columns: Columns, fields: RecordFields) -> tuple[Columns, list[tuple[int, Rejection]]]:
    """The valid events whose records' timestamps a prediction can carry, and the others as unscorable: a
    producer may stamp a record with any 64-bit number, and one such record must not stop the stream."""
    bad = [i for i, p in enumerate(columns.rows) if fields.milliseconds[p] not in _WRITABLE_MS]
    if not bad:
        return columns, []
    rejected: list[tuple[int, Rejection]] = []
    for index in bad:
        stamp = fields.milliseconds[columns.rows[index]]
        reason = f"the record's timestamp {stamp} ms is outside years 1-9999, so no prediction can carry it"
        error = FieldError(field="$timestamp", error="timestamp_out_of_range", message=reason)
        rejected.append((columns.rows[index], Rejection("unscorable", reason, [error])))
    skipped = set(bad)
    return columns.select([i for i in range(len(columns)) if i not in skipped]), rejected


def stream_values(stream: np.ndarray[Any, Any]) -> list[list[float | None]]:
    """Each event's stream features in `STREAM_FEATURE_NAMES` order, null where nothing was known."""
    return [[None if math.isnan(value) else value for value in row] for row in stream.tolist()]


def _stats(role: ModelRole, scorer: BatchScorer, probabilities: list[float], seconds: float) -> ModelStats:
    threshold = scorer.model.threshold
    return ModelStats(
        role=role,
        version=scorer.model.version,
        scored=len(probabilities),
        delayed=sum(probability >= threshold for probability in probabilities),
        probability_sum=math.fsum(probabilities),
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
