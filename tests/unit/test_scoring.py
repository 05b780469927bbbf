"""The scorer's batch path gives the training pipeline's probabilities bit for bit, and explains them."""

from __future__ import annotations

import csv
from itertools import islice

import numpy as np
import pytest

from consumer.scoring import BatchScorer
from schemas import FlightEvent
from tests.support.dataset import DATASET
from training.artifact import LoadedModel
from training.features import records_to_frame
from training.lookup import ServingModel


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with DATASET.open(encoding="utf-8", newline="") as handle:
        return list(islice(csv.DictReader(handle), 0, 68206, 23))


def test_batch_scores_equal_the_pipeline(
    model: LoadedModel, serving_model: ServingModel, rows: list[dict[str, str]]
) -> None:
    scorer = BatchScorer(serving_model, top=3)
    events = [FlightEvent.model_validate(row) for row in rows]
    scored = scorer.score_events(events)
    expected = model.pipeline.predict_proba(records_to_frame(rows))[:, 1]
    assert np.array_equal(scored.probabilities, expected)


def test_contributions_lead_with_the_terms_towards_the_decision(
    model: LoadedModel, serving_model: ServingModel, rows: list[dict[str, str]]
) -> None:
    """A delayed prediction leads with what pushed towards a delay, an on-time one with what pushed against."""
    scorer = BatchScorer(serving_model, top=50)
    scored = scorer.score_events([FlightEvent.model_validate(row) for row in rows[:400]])
    decisions = scored.probabilities >= model.threshold
    assert decisions.any() and not decisions.all(), "the sample needs both decisions"
    for delayed, probability, terms in zip(decisions, scored.probabilities, scored.contributions, strict=True):
        logit = model.pipeline.named_steps["logreg"].intercept_[0] + sum(t.log_odds for t in terms)
        assert 1 / (1 + np.exp(-logit)) == pytest.approx(probability, abs=1e-3)
        toward = [t for t in terms if (t.log_odds > 0) == delayed]
        assert terms[: len(toward)] == toward, "terms towards the decision come first"
        for group in (toward, terms[len(toward) :]):
            sizes = [abs(t.log_odds) for t in group]
            assert sizes == sorted(sizes, reverse=True)


def test_unseen_destination_and_flight_are_flagged_not_rejected(serving_model: ServingModel) -> None:
    event = FlightEvent.model_validate(
        {
            "scheduled_departure": "2017-03-10T20:15:00",
            "airline_name": "Sky Airline",
            "airline_code": "SKU",
            "flight_number": "99999",
            "flight_type": "N",
            "destination": "ZZZZ",
        }
    )
    scored = BatchScorer(serving_model).score_events([event])
    assert scored.unseen[0] == ["destination", "flight"]
    assert 0 < scored.probabilities[0] < 1


def test_lookup_equals_the_sparse_pipeline_on_every_row_and_unseen_values(
    model: LoadedModel, serving_model: ServingModel
) -> None:
    """All 68,206 dataset rows plus rows with categories the model never saw: same bits, same explanations."""
    from scipy import sparse

    with DATASET.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows += [{**row, "Des-I": "ZZZZ", "Vlo-I": "99999"} for row in rows[:50]]
    scorer = BatchScorer(serving_model, top=3)
    events = [FlightEvent.model_validate(row) for row in rows]
    scored = scorer.score_events(events)
    frame = records_to_frame(rows)
    assert np.array_equal(scored.probabilities, model.pipeline.predict_proba(frame)[:, 1])
    # The explanations the sparse one-hot route gives: an independent way to the same terms.
    steps = model.pipeline.named_steps
    onehot = steps["onehot"].transform(steps["features"].transform(frame))
    terms = sparse.csr_matrix(onehot.multiply(steps["logreg"].coef_[0]))
    delayed = scored.probabilities >= model.threshold
    contributions = scored.contributions  # a property that picks every row's terms: read it once
    for row in range(0, len(rows), 97):
        start, end = terms.indptr[row], terms.indptr[row + 1]
        columns, values = terms.indices[start:end], terms.data[start:end]
        toward = (values > 0) == delayed[row]
        order = sorted(range(len(values)), key=lambda i: (not toward[i], -abs(values[i])))[:3]
        expected = [(scorer._terms[columns[i]].feature, round(float(values[i]), 4)) for i in order]
        assert [(c.feature, c.log_odds) for c in contributions[row]] == expected, row
    assert all(unseen == ["destination", "flight"] for unseen in scored.unseen[-50:])
