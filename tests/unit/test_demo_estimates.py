"""`make run`'s estimate lines: each version's estimate on the same flights its outcomes judged, the shift the
monitor flagged on them, and the estimate made before the outcomes with how many it covered."""

from __future__ import annotations

from datetime import UTC, datetime

from producer.demo_monitor import FEW_WAITING, LastReports, estimate_lines
from schemas.model_control import ModelRole
from schemas.monitoring import EstimatedFigure, ModelMetricsReport, PerformanceEstimateReport

AT = datetime(2026, 12, 6, tzinfo=UTC)


def _figures(events: int, brier_departs: bool) -> ModelMetricsReport:
    estimated = [
        EstimatedFigure(figure="roc_auc", estimate=0.71, low=0.69, high=0.73, realized=0.724, departs=False),
        EstimatedFigure(figure="brier", estimate=0.174, low=0.165, high=0.183, realized=0.247, departs=brier_departs),
    ]
    return ModelMetricsReport(
        role=ModelRole.CHAMPION, model_version="v1", window="events", events=events, delayed=300, roc_auc=0.724,
        pr_auc=0.5, recall=0.6, precision=0.5, f1=0.55, brier=0.247, ece=0.05, mean_probability=0.2,
        predicted_delayed_rate=0.3, actual_delayed_rate=0.3, pending=0, estimated=estimated, reported_at=AT,
    )  # fmt: skip


def _waiting(count: int) -> PerformanceEstimateReport:
    figure = EstimatedFigure(figure="recall", estimate=0.703, low=0.0, high=1.0)
    return PerformanceEstimateReport(
        role=ModelRole.CHAMPION, model_version="v1", waiting=count, figures=[figure], reported_at=AT
    )


def test_the_estimate_on_the_joined_flights_stands_beside_their_outcomes_with_the_shift_flagged() -> None:
    latest = LastReports(
        figures={("champion", "v1"): _figures(934, brier_departs=True)},
        before_outcomes={("champion", "v1"): _waiting(8)},
    )
    joined, before, why = estimate_lines(latest)
    assert joined == (
        "\n  champion v1 on 934 joined predictions: roc_auc 0.710 [0.690, 0.730] -> 0.724; "
        "brier 0.174 [0.165, 0.183] -> 0.247; [red]concept shift: brier[/]"
    )
    assert before == "\n  before their outcomes, champion v1 on 8 waiting: recall 0.703 [0.000, 1.000]"
    assert "few predictions wait at once here" in why


def test_enough_waiting_needs_no_explanation_and_no_shift_no_mark() -> None:
    latest = LastReports(
        figures={("champion", "v1"): _figures(5_000, brier_departs=False)},
        before_outcomes={("champion", "v1"): _waiting(FEW_WAITING)},
    )
    lines = estimate_lines(latest)
    assert len(lines) == 2 and "concept shift" not in lines[0]


def test_no_report_says_so() -> None:
    assert estimate_lines(LastReports()) == ["\n  none: the monitor published no estimate"]
