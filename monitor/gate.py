"""A lineup's paired sample turned into the comparison report the monitor publishes: the ROC-AUC and Brier
differences with their always-valid intervals, and recall at each version's threshold."""

from __future__ import annotations

from datetime import datetime

from monitor.comparison import ALPHA, Difference, compare_auc, compare_brier, compare_recall
from monitor.pairing import Lineup, PairedSample
from schemas.monitoring import FigureComparison, ModelComparisonReport, RecallAtThresholds

MIN_OF_EACH_CLASS = 2  # DeLong's variance needs two delayed and two on-time flights


def comparison_report(lineup: Lineup, sample: PairedSample, now: datetime) -> ModelComparisonReport | None:
    """The report of one lineup, or None while it has fewer than two pairs."""
    delayed, champion, challenger = sample.arrays()
    if len(delayed) < 2:
        return None
    positives = int(delayed.sum())
    has_both = min(positives, len(delayed) - positives) >= MIN_OF_EACH_CLASS
    recall = compare_recall(delayed, champion, challenger, sample.champion_threshold, sample.challenger_threshold)
    return ModelComparisonReport(
        champion_version=lineup[0],
        challenger_version=lineup[1],
        flights=len(delayed),
        delayed=positives,
        roc_auc=_figure(compare_auc(delayed, champion, challenger)) if has_both else None,
        brier=_figure(compare_brier(delayed, champion, challenger)),
        recall=RecallAtThresholds(
            champion_recall=recall.recall_a,
            challenger_recall=recall.recall_b,
            champion_precision=recall.precision_a,
            challenger_precision=recall.precision_b,
            only_champion=recall.only_a,
            only_challenger=recall.only_b,
            mcnemar_p=recall.p_value,
        ),
        alpha=ALPHA,
        reported_at=now,
    )


def _figure(difference: Difference) -> FigureComparison:
    return FigureComparison(
        figure=difference.figure,
        champion=difference.a,
        challenger=difference.b,
        effect=difference.effect,
        standard_error=difference.standard_error,
        low=difference.low,
        high=difference.high,
        verdict=difference.verdict.value,
    )
