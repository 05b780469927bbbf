"""Score a batch of events as sums of coefficient lookups, and explain each score by its largest terms.

A logistic regression over one-hot categories is `expit(intercept + sum of the active categories'
coefficients)`. So each feature of a batch is turned into encoder column numbers by array indexing: calendar
features through tables of their categories by an integer (month, hour, day of year; the tables come from
`training.features`, the definitions the model was trained with), categorical ones through their vocabulary,
and crosses through a table over the pair of indices they combine. The model comes as its lookup tables
(`training.lookup`). The terms are added in the encoder's column order, exactly as scikit-learn's sparse dot
product adds them, and the logistic function is SciPy's formula on the C library's `exp`, so the probabilities
are the pipeline's bit for bit (asserted in tests/unit/test_scoring.py on every dataset row).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from consumer.columnar import Columns
from schemas import FlightEvent
from training.explain import coefficients
from training.features import (
    BASE_FEATURES,
    CALENDAR_CATEGORIES,
    CALENDAR_FACTS,
    CALENDAR_FEATURES,
    CROSSES,
    FEATURE_NAMES,
    calendar,
    cross,
    flight_code,
)
from training.lookup import ServingModel
from training.stream_features import BIN_PREFIX, MISSING_BIN, STREAM_FEATURE_NAMES, bin_labels

# Crosses are not flagged: a seen destination in an unseen month is not news to a reader.
FLAGGED_FEATURES = BASE_FEATURES
_FLAGGED_COLUMNS = [FEATURE_NAMES.index(name) for name in FLAGGED_FEATURES]
UNKNOWN = -1


@dataclass(frozen=True, slots=True)
class Term:
    """One term of the log-odds; serialises (orjson) to the contract's `FeatureContribution`."""

    feature: str
    log_odds: float


@dataclass(frozen=True)
class ScoredBatch:
    """Probabilities, and per event the encoder columns of its top terms and its unseen-category flags."""

    probabilities: np.ndarray[Any, Any]
    top_columns: np.ndarray[Any, Any]  # (events x top), UNKNOWN where an event has fewer known terms
    unseen: list[list[str]]
    term_objects: np.ndarray[Any, Any]  # every column's `Term`, then None (picked by UNKNOWN)
    term_json: np.ndarray[Any, Any]  # the same as JSON fragments, what predictions embed

    @property
    def contributions(self) -> list[list[Term]]:
        """The top terms of each event, to read."""
        return _pick(self.term_objects, self.top_columns)

    @property
    def contribution_json(self) -> list[list[orjson.Fragment]]:
        """The same as JSON, to write."""
        return _pick(self.term_json, self.top_columns)


class BatchScorer:
    """Scores batches with one verified model's lookup tables; its probabilities are exactly the pipeline's."""

    def __init__(self, model: ServingModel, top: int = 3) -> None:
        self.model = model
        self.top = top
        names = model.manifest.destination_names
        self._coef = np.asarray(model.tables.coefficients, dtype=np.float64)
        self._intercept = model.tables.intercept
        # One term per encoder column, made once: explaining a score is then picking columns.
        self._terms = [
            Term(_label(c.feature, c.category, names), round(c.log_odds, 4)) for c in coefficients(model.tables)
        ]
        # The same terms as objects and as JSON, indexable by an array of columns (the last entry: none).
        self._term_objects = _object_array([*self._terms, None])
        self._term_json = _object_array([*(orjson.Fragment(orjson.dumps(t)) for t in self._terms), None])
        column_of = model.tables.column_of()
        self.known_airlines = frozenset(column_of["airline"])
        self._tables = _LookupTables(column_of)
        spec = model.manifest.stream_features
        self._stream = _StreamBins(column_of, spec.features if spec else [])

    @property
    def reads_stream_features(self) -> bool:
        """True when the version needs the stream features (`training.stream_features`) of each event."""
        return bool(self._stream.names)

    @property
    def terms(self) -> list[Term]:
        """Every encoder column's term, in column order."""
        return list(self._terms)

    def feature_specs(self) -> list[tuple[str, object, object, list[int]]]:
        """The lookup tables as the compiled lane takes them (`_LookupTables.specs`)."""
        return self._tables.specs()

    def stream_specs(self) -> list[tuple[int, list[float], list[int], int]]:
        """The binned stream features as the compiled lane takes them (`_StreamBins.specs`)."""
        return self._stream.specs()

    def score(self, columns: Columns, stream: np.ndarray[Any, Any] | None = None) -> ScoredBatch:
        """`stream`: the events' stream features (rows; `STREAM_FEATURE_NAMES` columns), needed by a version that
        reads them and ignored by one that does not."""
        if not len(columns):
            return ScoredBatch(np.empty(0), np.empty((0, self.top), np.int64), [], self._term_objects, self._term_json)
        matrix = self._tables.columns(columns)
        if self.reads_stream_features:
            if stream is None or stream.shape != (len(columns), len(STREAM_FEATURE_NAMES)):
                raise ValueError(f"version {self.model.version} reads stream features: one row per event is needed")
            matrix = np.hstack([matrix, self._stream.columns(stream)])
        known = matrix != UNKNOWN
        terms = np.where(known, self._coef[np.where(known, matrix, 0)], 0.0)
        decision = np.zeros(len(columns))
        for j in range(matrix.shape[1]):  # column order, as the sparse dot product sums them
            decision += terms[:, j]
        decision += self._intercept
        probabilities = np.fromiter(map(expit, decision.tolist()), np.float64, len(columns))
        chosen = self._explain(matrix, terms, known, probabilities >= self.model.threshold)
        return ScoredBatch(probabilities, chosen, self._unseen(known), self._term_objects, self._term_json)

    def score_events(self, events: Sequence[FlightEvent]) -> ScoredBatch:
        return self.score(Columns.of_events(events))

    def _explain(
        self,
        columns: np.ndarray[Any, Any],
        terms: np.ndarray[Any, Any],
        known: np.ndarray[Any, Any],
        delayed: np.ndarray[Any, Any],
    ) -> np.ndarray[Any, Any]:
        """Encoder columns of the `top` terms, `UNKNOWN` where fewer are known: see `explanation_order`."""
        order = explanation_order(terms, known, delayed)[:, : self.top]
        rows = np.arange(len(columns))[:, None]
        chosen: np.ndarray[Any, Any] = np.where(known[rows, order], columns[rows, order], UNKNOWN)
        return chosen

    @staticmethod
    def _unseen(known: np.ndarray) -> list[list[str]]:
        flagged = ~known[:, _FLAGGED_COLUMNS]
        unseen: list[list[str]] = [[] for _ in range(len(known))]
        for row in np.flatnonzero(flagged.any(axis=1)).tolist():
            unseen[row] = [FLAGGED_FEATURES[i] for i in np.flatnonzero(flagged[row])]
        return unseen


def expit(x: float) -> float:
    """SciPy's `expit` for one float64, `1 / (1 + exp(-x))` on the C library's `exp`: the same bits, without
    importing SciPy. numpy's vectorised `exp` differs from the C library's in the last bit for some inputs."""
    try:
        return 1.0 / (1.0 + math.exp(-x))
    except OverflowError:  # exp(-x) beyond float64: the limit
        return 0.0


def explanation_order(
    terms: np.ndarray[Any, Any], known: np.ndarray[Any, Any], delayed: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Per event, the term positions in the order a reader wants them: first the terms that pushed towards the
    decision (positive log-odds for a predicted delay, negative for on time), largest first, then those that
    pushed against it, largest first (ties in column order). Unknown categories add nothing and come last."""
    toward = (terms > 0) == delayed[:, None]
    keys = np.where(known, np.where(toward, 0.0, _AGAINST) - np.abs(terms), np.inf)
    order: np.ndarray[Any, Any] = np.argsort(keys, axis=1, kind="stable")
    return order


_AGAINST = 1e6  # larger than any term's size: every term towards the decision sorts before those against it


def _object_array(items: list[Any]) -> np.ndarray[Any, Any]:
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def _pick(table: np.ndarray[Any, Any], chosen: np.ndarray[Any, Any]) -> list[list[Any]]:
    """Rows of `table[chosen]` as lists, leaving out `UNKNOWN` (the table's last entry, None)."""
    rows: list[list[Any]] = table[chosen].tolist()  # UNKNOWN (-1) picks the last entry
    if (chosen == UNKNOWN).any():
        rows = [[item for item in row if item is not None] for row in rows]
    return rows


class _StreamBins:
    """Encoder column numbers of the binned stream features a version reads, from their values."""

    def __init__(self, column_of: dict[str, dict[str, int]], features: Sequence[Any]) -> None:
        self.names = [feature.name for feature in features]
        self._edges = [feature.edges for feature in features]
        self._positions = [STREAM_FEATURE_NAMES.index(name) for name in self.names]
        self._column_of = [column_of[name] for name in self.names]

    def specs(self) -> list[tuple[int, list[float], list[int], int]]:
        """Per feature read, in column order: (its position in `STREAM_FEATURE_NAMES`, its inner edges, the
        encoder column of each bin `b0`, `b1`, ..., that of the missing bin), `UNKNOWN` for a bin the model
        never saw."""
        return [
            (
                position,
                list(edges),
                [column_of.get(f"{BIN_PREFIX}{i}", UNKNOWN) for i in range(len(edges) + 1)],
                column_of.get(MISSING_BIN, UNKNOWN),
            )
            for position, edges, column_of in zip(self._positions, self._edges, self._column_of, strict=True)
        ]

    def columns(self, stream: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        matrix = np.empty((len(stream), len(self.names)), dtype=np.int64)
        for j, (position, edges, column_of) in enumerate(
            zip(self._positions, self._edges, self._column_of, strict=True)
        ):
            labels = bin_labels(stream[:, position], edges)
            matrix[:, j] = np.fromiter((column_of.get(label, UNKNOWN) for label in labels), np.int64, len(labels))
        return matrix


class _LookupTables:
    """Encoder column numbers by integer index, per feature; `UNKNOWN` for a category the model never saw."""

    def __init__(self, column_of: dict[str, dict[str, int]]) -> None:
        self._vocabulary: dict[str, dict[str, int]] = {}
        domains: dict[str, list[str | None]] = {}
        self._tables: dict[str, np.ndarray[Any, Any]] = {}
        for name in CALENDAR_FEATURES:
            domains[name] = list(CALENDAR_CATEGORIES[name])
        for name in ("airline", "flight_type", "destination", "flight"):
            self._vocabulary[name] = {category: i for i, category in enumerate(column_of[name])}
            domains[name] = [*column_of[name], None]  # the last index stands for every unseen value
        for name, domain in domains.items():
            self._tables[name] = np.array([column_of[name].get(c, UNKNOWN) if c else UNKNOWN for c in domain])
        self._width: dict[str, int] = {name: len(domain) for name, domain in domains.items()}
        for name, (left, right) in CROSSES.items():
            table = np.full(self._width[left] * self._width[right], UNKNOWN, dtype=np.int64)
            for i, a in enumerate(domains[left]):
                for j, b in enumerate(domains[right]):
                    if a and b:
                        table[i * self._width[right] + j] = column_of[name].get(cross(a, b), UNKNOWN)
            self._tables[name] = table

    def specs(self) -> list[tuple[str, object, object, list[int]]]:
        """The same tables for the compiled lane, in `FEATURE_NAMES` order: `("calendar", fact, None, table)`,
        `("vocabulary", feature, {category: index}, table)` or `("cross", left, right, table)`, where a cross
        names the positions of the two features it combines."""
        specs: list[tuple[str, object, object, list[int]]] = []
        for name in FEATURE_NAMES:
            table = self._tables[name].tolist()
            if name in CROSSES:
                left, right = CROSSES[name]
                specs.append(("cross", FEATURE_NAMES.index(left), FEATURE_NAMES.index(right), table))
            elif name in self._vocabulary:
                specs.append(("vocabulary", name, self._vocabulary[name], table))
            else:
                specs.append(("calendar", CALENDAR_FACTS[name], None, table))
        return specs

    def columns(self, columns: Columns) -> np.ndarray[Any, Any]:
        """The (events x features) matrix of encoder column numbers."""
        days = calendar(columns.local_times())
        index: dict[str, np.ndarray[Any, Any]] = {name: days.index(name) for name in CALENDAR_FEATURES}
        for name, values in (
            ("airline", columns.airline_name),
            ("flight_type", columns.flight_type),
            ("destination", columns.destination),
            ("flight", list(map(flight_code, columns.airline_code, columns.flight_number))),
        ):
            vocabulary = self._vocabulary[name]
            unseen = len(vocabulary)
            index[name] = np.fromiter((vocabulary.get(v, unseen) for v in values), np.int64, len(values))
        matrix = np.empty((len(columns), len(FEATURE_NAMES)), dtype=np.int64)
        for j, name in enumerate(FEATURE_NAMES):
            if name in CROSSES:
                left, right = CROSSES[name]
                matrix[:, j] = self._tables[name][index[left] * self._width[right] + index[right]]
            else:
                matrix[:, j] = self._tables[name][index[name]]
        return matrix


def _label(feature: str, category: str, destination_names: dict[str, str]) -> str:
    if feature == "destination" and category in destination_names:
        return f"destination={category} ({destination_names[category]})"
    return f"{feature}={category}"
