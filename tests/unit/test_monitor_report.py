"""The report's figures: windows along the departures, the reliability diagram as scikit-learn draws it, and drift
windows as the monitor's drift watch judges them; the page has every figure, drawn or saying why not."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from matplotlib.dates import date2num
from sklearn.calibration import calibration_curve
from sklearn.metrics import recall_score, roc_auc_score

from monitor.drift import assess
from monitor.estimate_reports import estimated_figures
from monitor.estimation import estimate
from monitor.online_metrics import window_metrics
from monitor.report import ModelRows, drift_over_time, estimates_over, model_rows, reliability, rolling
from monitor.report_gate import gate_over_time, paired_samples
from monitor.report_page import FIGURES, MIN_TIME_PAD_S, PSI_FLOOR, ReportInputs, figures, render
from schemas.model_control import ModelRole
from schemas.monitoring import FeatureConsistency, JoinedPrediction, StreamConsistencyReport
from schemas.outputs import SourcePosition
from training.reference import SCORE
from training.stream_features import STREAM_FEATURE_NAMES

START = datetime(2017, 1, 1, tzinfo=UTC)
AT = SourcePosition(topic="t", partition=0, offset=0)


def joined(n: int, seed: int = 7, role: str = ModelRole.CHAMPION, version: str = "v1") -> list[JoinedPrediction]:
    """`n` joined predictions with some signal, departures shuffled (the topic's order is not event time)."""
    rng = np.random.default_rng(seed)
    delayed = rng.random(n) < 0.2
    probability = np.clip(rng.normal(0.2 + 0.25 * delayed, 0.12), 0, 1)
    minutes = rng.permutation(n) * 10
    return [
        JoinedPrediction(
            flight_id=f"F{i}", role=role, model_version=version, delay_probability=float(probability[i]),
            threshold=0.3, predicted_delayed=bool(probability[i] >= 0.3), delayed=bool(delayed[i]),
            delay_minutes=30.0 if delayed[i] else 0.0, scheduled_departure=START + timedelta(minutes=int(minutes[i])),
            prediction=AT, outcome=AT,
        )
        for i in range(n)
    ]  # fmt: skip


def test_rows_are_grouped_by_version_and_ordered_by_departure() -> None:
    records = joined(300) + joined(200, seed=8, role=ModelRole.CHALLENGER, version="v2")
    rows = model_rows(records)
    assert list(rows) == [(ModelRole.CHALLENGER, "v2"), (ModelRole.CHAMPION, "v1")]
    champion = rows[(ModelRole.CHAMPION, "v1")]
    assert len(champion) == 300 and np.all(np.diff(champion.departure_s) >= 0)
    by_time = sorted(records[:300], key=lambda r: r.scheduled_departure)
    assert champion.probability.tolist() == [r.delay_probability for r in by_time]


@pytest.mark.parametrize(("n", "window", "expected_ends"), [(1000, 400, [400, 500, 600, 700, 800, 900, 1000]),
                                                            (1050, 400, [400, 500, 600, 700, 800, 900, 1000, 1050]),
                                                            (150, 400, [150])])  # fmt: skip
def test_rolling_windows_slide_along_departures_and_end_with_the_newest(
    n: int, window: int, expected_ends: list[int]
) -> None:
    rows = model_rows(joined(n))[(ModelRole.CHAMPION, "v1")]
    points = rolling(rows, window)
    size = min(window, n)
    assert [p.departure_s for p in points] == [rows.departure_s[end - 1] for end in expected_ends]
    for point, end in zip(points, expected_ends, strict=True):
        y, p = rows.delayed[end - size : end], rows.probability[end - size : end]
        assert point.metrics.events == size
        assert point.metrics.roc_auc == pytest.approx(roc_auc_score(y, p), abs=1e-12)
        assert point.metrics.recall == pytest.approx(recall_score(y, p >= 0.3), abs=1e-12)


def test_the_reliability_diagram_is_scikit_learns() -> None:
    rows = model_rows(joined(5000))[(ModelRole.CHAMPION, "v1")]
    probability = np.r_[rows.probability, [0.1, 0.2, 0.5, 0.0, 1.0]]  # values on the bins' edges too
    delayed = np.r_[rows.delayed, [True, False, True, False, True]]
    bins = reliability(probability, delayed)
    rate, mean = calibration_curve(delayed, probability, n_bins=10, strategy="uniform")
    assert [b.delayed_rate for b in bins] == pytest.approx(rate, abs=1e-12)
    assert [b.mean_probability for b in bins] == pytest.approx(mean, abs=1e-12)
    assert sum(b.count for b in bins) == len(probability)


def test_drift_windows_follow_departures_and_judge_as_the_monitor_does() -> None:
    rng = np.random.default_rng(3)
    reference = {"airline": {"A": 0.5, "B": 0.3, "C": 0.2}}
    early = [(float(i), (str(rng.choice(["A", "B", "C"], p=[0.5, 0.3, 0.2])),)) for i in range(2000)]
    late = [(float(2000 + i), (str(rng.choice(["A", "B", "C"], p=[0.2, 0.3, 0.5])),)) for i in range(2000)]
    shuffled = [early[i] if i % 2 else late[i] for i in range(2000)] + [
        late[i] if i % 2 else early[i] for i in range(2000)
    ]
    points = drift_over_time(shuffled, ("airline",), reference, 1000)
    assert [p.departure_s for p in points] == [999.0, 1999.0, 2999.0, 3999.0]
    assert [p.verdicts[0].drifting for p in points] == [False, False, True, True]
    tail = drift_over_time(early + late[:1500], ("airline",), reference, 1000)
    assert [p.departure_s for p in tail] == [999.0, 1999.0, 2999.0, 3499.0]  # the newest window is a full one
    assert tail[-1].verdicts[0].events == 1000
    chunk = [values[0] for _, values in early[:1000]]
    expected = assess("airline", reference["airline"], {c: chunk.count(c) for c in set(chunk)})
    assert points[0].verdicts[0] == expected


def test_the_page_has_every_figure_and_says_why_one_is_empty() -> None:
    records = joined(3000) + joined(3000, seed=8, role=ModelRole.CHALLENGER, version="v2")
    rows = model_rows(records)
    flights = [(float(i), ("A" if i < 3000 else "C",)) for i in range(6000)]
    inputs = ReportInputs(
        generated_at=START, source="test", window=500, drift_window=1000, models=rows,
        rolling={k: rolling(r, 500) for k, r in rows.items()},
        reliability={k: reliability(r.probability, r.delayed) for k, r in rows.items()},
        offline={"v1": {"roc_auc": 0.7, "recall": 0.6}}, champion="v1", flights=len(flights),
        drift=drift_over_time(flights, ("airline",), {"airline": {"A": 0.5, "C": 0.5}}, 1000),
        gate={lineup: gate_over_time(sample) for lineup, sample in paired_samples(records).items()},
    )  # fmt: skip
    page = render(inputs)
    for name in FIGURES:
        figure = re.search(rf'<figure id="{name}"><svg.*?</svg>', page, re.S)
        assert figure is not None, name
        assert "no joined predictions" not in figure.group(0) and "no flight scored by both" not in figure.group(0)
    assert "v2" in page and "0.700" in page  # each version, and the manifest's figure beside the online one
    empty = render(ReportInputs(START, "test", 500, 1000, {}, {}, {}, {}, [], None, 0))
    assert all(f'<figure id="{name}"><svg' in empty for name in FIGURES)
    assert "No joined predictions yet" in empty and "no drift figures" in empty


def run_of(count: int) -> ReportInputs:
    """A run with `count` flights, one every 10 minutes (288: two days; 4,000: four weeks), all joined."""
    rows = model_rows(joined(count))
    departures = [START.timestamp() + 600.0 * i for i in range(count)]
    flights = [(t, ("A" if i % 3 else "C",)) for i, t in enumerate(departures)]
    scores = [(t, (str(i % 10),)) for i, t in enumerate(departures)]
    return ReportInputs(
        generated_at=START, source="test", window=100, drift_window=1000, models=rows,
        rolling={k: rolling(r, 100) for k, r in rows.items()},
        reliability={k: reliability(r.probability, r.delayed) for k, r in rows.items()},
        offline={}, champion="v1", flights=count,
        drift=drift_over_time(flights, ("airline",), {"airline": {"A": 0.5, "C": 0.5}}, 1000),
        score_drift=drift_over_time(scores, (SCORE,), {SCORE: {str(i): 0.1 for i in range(10)}}, 1000),
    )  # fmt: skip


@pytest.mark.parametrize("count", [288, 4000])
def test_time_axes_fit_the_data_and_the_psi_axis_has_no_zero(count: int) -> None:
    drawn = figures(run_of(count))
    for name in ("rolling-auc", "rolling-recall", "psi"):
        axes = drawn[name].axes[0]
        series = [line for line in axes.lines if not str(line.get_label()).startswith("_")]  # not the reference lines
        days = [date2num(line.get_xdata()) for line in series]  # type: ignore[no-untyped-call]
        plotted = [day * 86400 for values in days for day in values]  # matplotlib's dates: days since the epoch
        assert plotted, name
        first, last = min(plotted), max(plotted)
        low, high = (day * 86400 for day in axes.get_xlim())
        assert low <= first and high >= last, name
        assert high - low <= (last - first) * 1.1 + 2 * MIN_TIME_PAD_S, f"{name}: the axis spans far beyond the data"
    psi = drawn["psi"].axes[0]
    bottom, top = psi.get_ylim()
    assert psi.get_yscale() == "log" and bottom == PSI_FLOOR
    assert all(tick > 0 for tick in psi.get_yticks() if bottom <= tick <= top)
    assert {line.get_label() for line in psi.lines} >= {"airline", SCORE}


def test_the_drift_table_has_the_score_row() -> None:
    page = render(run_of(4000))
    assert "<td>score</td>" in page and "<td>airline</td>" in page
    assert "the score over the champion's last 1,000 predictions" in page


def test_the_stream_features_section_sums_each_monitors_check_per_feature() -> None:
    def check(monitor: str, values: int, mismatched: dict[str, int]) -> StreamConsistencyReport:
        features = [
            FeatureConsistency(feature=name, values=values, mismatched=mismatched.get(name, 0))
            for name in STREAM_FEATURE_NAMES
        ]
        return StreamConsistencyReport(
            monitor=monitor, predictions=values, unchecked={"event_not_read": 2}, features=features, reported_at=START
        )

    reports = [check("m1", 600, {"airport_3h_count": 3}), check("m2", 400, {"airport_3h_count": 2})]
    page = render(ReportInputs(START, "test", 500, 1000, {}, {}, {}, {}, [], None, 0, consistency=reports))
    assert "1,000 joined predictions checked (4 not checked)" in page
    assert "5 of 31,000 values differ" in page
    assert "<details open><summary>per feature: 1 of 31 differ</summary>" in page
    first_row = "<tr><td>airport_3h_count</td><td>1,000</td><td>5</td><td>0.50%</td></tr>"
    assert f"<th>mismatch rate</th></tr>{first_row}" in page, "what differs comes first"
    assert "<tr><td>airline_3h_count</td><td>1,000</td><td>0</td><td>0.00%</td></tr>" in page
    agreeing = render(
        ReportInputs(START, "test", 500, 1000, {}, {}, {}, {}, [], None, 0, consistency=[check("m", 9, {})])
    )
    assert "<details><summary>per feature: 0 of 31 differ</summary>" in agreeing, "nothing differs: folded"
    empty = render(ReportInputs(START, "test", 500, 1000, {}, {}, {}, {}, [], None, 0))
    assert "No version served reads stream features" in empty


def _rows(probability: np.ndarray, delayed: np.ndarray) -> ModelRows:
    return ModelRows(0.3, np.arange(len(probability), dtype=np.float64), probability, delayed)


def _estimate_row(page: str, role: str, version: str, over: str) -> str:
    found = re.search(
        rf"<tr><td>{role}</td><td>{version}</td><td>{over}</td>(.*?)</tr>", page.split("Estimated before")[1]
    )
    assert found is not None, f"no row of {role} {version} over {over}"
    return found.group(1)


def test_the_estimate_table_shows_each_promise_beside_its_outcome_and_marks_a_concept_shift() -> None:
    rng = np.random.default_rng(12)
    p = np.clip(rng.beta(2, 7, 3000), 0.01, 0.99)
    calibrated = rng.random(3000) < p
    flatter = rng.random(3000) < 0.5 * p + 0.15  # the same scores, delays that no longer follow them
    estimated = {
        (ModelRole.CHAMPION, "v1"): estimates_over(_rows(p, calibrated), 3000),
        (ModelRole.CHALLENGER, "v2"): estimates_over(_rows(p, flatter), 3000),
    }
    page = render(dataclasses.replace(run_of(288), estimated=estimated))
    champion = _estimate_row(page, "champion", "v1", "all 3,000")
    challenger = _estimate_row(page, "challenger", "v2", "all 3,000")
    cells = re.findall(r"<td[^>]*>(.*?)</td>", champion)
    assert len(cells) == 5 and "✱" not in champion
    auc = estimated[(ModelRole.CHAMPION, "v1")][0].figures[0]
    assert (
        auc.figure == "roc_auc"
        and cells[0] == f"{auc.estimate:.3f} [{auc.low:.3f}, {auc.high:.3f}] → {auc.realized:.3f}"
    )
    assert auc == estimated_figures(estimate(p, 0.3), window_metrics(p, calibrated, 0.3).as_dict())[0]
    assert "<td class=shift" in challenger, "outcomes that left the probabilities: marked"
    assert "✱ beyond chance: ROC-AUC of challenger v2 (all 3,000)" in page and "Brier of challenger v2" in page
    calm = render(
        dataclasses.replace(run_of(288), estimated={(ModelRole.CHAMPION, "v1"): estimated[(ModelRole.CHAMPION, "v1")]})
    )
    assert "Every ROC-AUC and Brier score is within chance" in calm
    assert "No joined predictions yet: nothing to set an estimate against" in render(run_of(288))


def test_a_shift_that_began_late_is_marked_in_the_newest_window_where_all_the_history_dilutes_it() -> None:
    """The ConceptShift alert reads the monitor's newest window; whoever it pages finds that window here."""
    rng = np.random.default_rng(12)
    before, after = 8000, 2000
    p = np.clip(rng.beta(2, 7, before + after), 0.01, 0.99)
    delayed = np.concatenate([rng.random(before) < p[:before], rng.random(after) < 0.75 * p[before:] + 0.08])
    spans = estimates_over(_rows(p, delayed), 2000)
    assert [(span.predictions, span.newest) for span in spans] == [(10_000, False), (2000, True)]
    page = render(dataclasses.replace(run_of(288), estimated={(ModelRole.CHAMPION, "v1"): spans}))
    assert "✱" not in _estimate_row(page, "champion", "v1", "all 10,000")
    assert "<td class=shift" in _estimate_row(page, "champion", "v1", "the newest 2,000")
    assert "Brier of champion v1 (the newest 2,000)" in page
    assert [span.newest for span in estimates_over(_rows(p[:2000], delayed[:2000]), 2000)] == [False], (
        "a version with no more than the window has one row"
    )
