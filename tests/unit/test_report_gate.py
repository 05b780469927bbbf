"""The report's gate figure: the joined topic paired by flight as the monitor pairs it, and each look the
comparison the monitor would publish over the same pairs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from monitor.gate import comparison_report
from monitor.report_gate import gate_over_time, paired_samples
from schemas.model_control import ModelRole
from schemas.monitoring import JoinedPrediction
from schemas.outputs import SourcePosition

START = datetime(2017, 1, 1, tzinfo=UTC)
AT = SourcePosition(topic="t", partition=0, offset=0)


def lineup_records(flights: int, seed: int) -> list[JoinedPrediction]:
    """Champion v1 and a better challenger v2 on the same flights, in a shuffled topic order."""
    rng = np.random.default_rng(seed)
    log_odds = rng.normal(-1.3, 1.2, flights)
    delayed = rng.random(flights) < 1 / (1 + np.exp(-log_odds))
    records = []
    for i in rng.permutation(flights):
        for role, version, noise in ((ModelRole.CHAMPION, "v1", 1.5), (ModelRole.CHALLENGER, "v2", 0.3)):
            probability = float(1 / (1 + np.exp(-(log_odds[i] + rng.normal(0, noise)))))
            records.append(
                JoinedPrediction(
                    flight_id=f"F{i}", role=role, model_version=version, delay_probability=probability,
                    threshold=0.3, predicted_delayed=probability >= 0.3, delayed=bool(delayed[i]),
                    delay_minutes=30.0 if delayed[i] else 0.0,
                    scheduled_departure=START + timedelta(minutes=10 * int(i)), prediction=AT, outcome=AT,
                )
            )  # fmt: skip
    return records


def test_pairs_follow_the_departures_and_the_last_look_is_the_monitors_comparison() -> None:
    records = lineup_records(3000, seed=5)
    [(lineup, sample)] = paired_samples(records).items()
    assert lineup == ("v1", "v2") and len(sample.rows) == 3000
    assert np.all(np.diff(sample.departures()) > 0)
    points = gate_over_time(sample)
    assert [p.flights for p in points] == sorted({p.flights for p in points}) and points[-1].flights == 3000
    published = comparison_report(lineup, sample, START)
    assert published is not None and published.roc_auc is not None
    last = points[-1]
    assert (last.effect, last.low, last.high, last.verdict) == (
        published.roc_auc.effect, published.roc_auc.low, published.roc_auc.high, published.roc_auc.verdict,
    )  # fmt: skip
    assert last.verdict == "better" and points[0].verdict == "undecided"
    assert all(p.low <= p.effect <= p.high for p in points)


def test_a_flight_one_version_scored_is_no_pair_and_too_few_of_a_class_is_no_look() -> None:
    records = lineup_records(40, seed=6)
    champion_only = [r for r in records if r.role is ModelRole.CHAMPION]
    assert paired_samples(champion_only) == {}
    [(_, sample)] = paired_samples(records[:4]).items()  # two flights: no ROC-AUC variance yet
    assert gate_over_time(sample) == []
