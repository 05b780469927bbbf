"""The compiled lane of the transform: decode, check, featurise, score and write a batch in Rust (`native/`).

It keeps the events it can decide for certain and defers every other record to the Python path (the columnar
validator, then the pydantic contract), which stays the reference: it explains every rejection, and tests hold
the two lanes to the same verdicts, normalised events, probabilities and prediction bytes. The lane is built
from the same objects the Python path uses (the scorer's lookup tables and terms, the contract's year range,
the columnar validator's Santiago offsets), so it has no rules or tables of its own to drift.

Without the extension (a Python-only install) the transform runs the Python path alone, slower but identical;
the scorer logs which lane it runs and counts events by lane.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import orjson

from consumer.columnar import hour_offset
from consumer.encoding import OPTIONS
from consumer.scoring import FLAGGED_FEATURES, BatchScorer
from schemas.flight_event import FIRST_YEAR, LAST_YEAR
from stream_runtime.records import RecordFields
from training.features import FEATURE_NAMES
from training.stream_features import STREAM_FEATURE_NAMES
from training.stream_state import CompiledStreamState, OutcomesHeld

log = logging.getLogger("consumer")

try:
    import flightdelay_native as _native
except ImportError:  # a Python-only install: the Python path does all the work
    _native = None  # type: ignore[assignment]

Pairs = list[tuple[bytes | None, bytes]]


def available() -> bool:
    """True when the extension is installed."""
    return _native is not None


@dataclass(frozen=True)
class Kept:
    """The records the compiled lane decided, and the positions it left to the Python path."""

    batch: _native.Batch
    positions: list[int]
    deferred: list[int]

    def __len__(self) -> int:
        return len(self.positions)


@dataclass(frozen=True)
class Predicted:
    """One model's predictions of some of a batch's events: their positions in the batch, (key, value) pairs
    and probabilities, in batch order."""

    positions: list[int]
    pairs: Pairs
    probabilities: list[float]

    def merged(self, other: Predicted) -> Predicted:
        """Both lanes' predictions of one batch, in batch order (outputs keep the input's order)."""
        if not other.positions:
            return self
        if not self.positions:
            return other
        positions = self.positions + other.positions
        order = sorted(range(len(positions)), key=positions.__getitem__)
        pairs, probabilities = self.pairs + other.pairs, self.probabilities + other.probabilities
        return Predicted([positions[i] for i in order], [pairs[i] for i in order], [probabilities[i] for i in order])


@dataclass(frozen=True)
class StreamInput:
    """What a version with stream features needs of a batch's kept events: the outcomes held, when each event
    was known, and whether the departures were read to their end before the batch."""

    state: CompiledStreamState
    known_at: list[int]
    current: bool


@dataclass(frozen=True)
class CompiledLane:
    """The compiled lane of one transform: its validator, and the champion's and challenger's tables."""

    validator: NativeValidator
    champion: NativeModel
    challenger: NativeModel | None

    @classmethod
    def build(
        cls,
        max_bytes: int,
        champion: BatchScorer,
        challenger: BatchScorer | None,
        held: OutcomesHeld | None = None,
    ) -> CompiledLane | None:
        """The lane for these models, or None (the Python path alone) without the extension, for a version
        with stream features whose outcomes (`held`) are not in the compiled lane's memory, or if it refuses
        the tables, which would be a bug of ours: logged, and the stream goes on, slower."""
        reads = champion.reads_stream_features or (challenger is not None and challenger.reads_stream_features)
        if _native is None or (reads and not isinstance(held, CompiledStreamState)):
            return None
        try:
            return cls(
                NativeValidator(max_bytes, champion.known_airlines),
                NativeModel(champion),
                None if challenger is None else NativeModel(challenger),
            )
        except ValueError:
            log.exception("the compiled lane refused the models' tables; scoring with the Python path alone")
            return None


class NativeValidator:
    """Splits a batch into the events the compiled lane keeps and the positions it defers."""

    def __init__(self, max_bytes: int, known_airlines: frozenset[str]) -> None:
        if _native is None:
            raise RuntimeError("the compiled lane (flightdelay_native) is not installed")
        self._validator = _native.Validator(max_bytes, FIRST_YEAR, LAST_YEAR, set(known_airlines), hour_offset)

    def split(self, fields: RecordFields) -> Kept:
        batch = self._validator.split(fields.values, fields.keys, fields.milliseconds)
        return Kept(batch, batch.positions, batch.deferred)


class NativeModel:
    """One model's lookup tables in the compiled lane: predictions of kept events, as the Python path writes
    them."""

    def __init__(self, scorer: BatchScorer) -> None:
        if _native is None:
            raise RuntimeError("the compiled lane (flightdelay_native) is not installed")
        model = scorer.model
        self._model = _native.Model(
            features=scorer.feature_specs(),
            coefficients=list(model.tables.coefficients),
            intercept=model.tables.intercept,
            threshold=model.threshold,
            threshold_json=orjson.dumps(model.threshold),
            version_json=orjson.dumps(model.version),
            terms=[orjson.dumps(term) for term in scorer.terms],
            flagged=[(FEATURE_NAMES.index(name), orjson.dumps(name)) for name in FLAGGED_FEATURES],
            top=scorer.top,
            stream=scorer.stream_specs(),
            stream_width=len(STREAM_FEATURE_NAMES),
        )

    def predict(
        self, kept: Kept, fields: RecordFields, scored_at: datetime, stream: StreamInput | None = None
    ) -> Predicted:
        """Predictions of the kept events of the batch whose records `fields` holds; `stream` for a version
        with stream features (ignored by one without)."""
        pairs, probabilities = self._model.predict(
            kept.batch,
            fields.topics,
            fields.partitions,
            fields.offsets,
            fields.milliseconds,
            orjson.dumps(scored_at, option=OPTIONS),
            None if stream is None else (stream.state.native, stream.known_at, stream.current),
        )
        return Predicted(kept.positions, pairs, probabilities)
