"""The monitor's Prometheus metrics: joins, waiting predictions, and each model's online figures."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge

from monitor.drift import Drift
from monitor.estimation import ESTIMATED
from monitor.online_metrics import WindowMetrics
from monitor.stream_consistency import UNCHECKED_REASONS, ConsistencyCounts
from schemas.monitoring import EstimatedFigure, ModelComparisonReport, ModelMetricsReport
from training.stream_features import STREAM_FEATURE_NAMES

VERDICT_VALUES = {"better": 1, "undecided": 0, "worse": -1}  # the challenger's, as a gauge

FIGURES = (
    "roc_auc", "pr_auc", "recall", "precision", "f1", "brier", "ece",
    "mean_probability", "predicted_delayed_rate", "actual_delayed_rate", "events",
)  # fmt: skip


class MonitorMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.joined = Counter(
            "flightdelay_monitor_joined", "Predictions joined with their outcome", ["role", "version"], registry=r
        )
        self.read = Counter("flightdelay_monitor_records", "Input records read, by kind", ["kind"], registry=r)
        self.rebuilt = Counter(
            "flightdelay_monitor_rebuilt_records", "Records re-read to rebuild the join state", registry=r
        )
        self.pending = Gauge(
            "flightdelay_monitor_pending_predictions", "Predictions waiting for their outcome", registry=r
        )
        self.outcome_age = Gauge(
            "flightdelay_monitor_newest_outcome_age_seconds",
            "Flight time from the newest outcome read (its departure) to the newest flight event read (when it was "
            "known): grows while flights keep coming and no outcome is published; NaN before the first event",
            registry=r,
        )
        self.outcome_age.set(math.nan)
        self.figure = Gauge(
            "flightdelay_model_online",
            "A model's online figure over a window of joined predictions (see the README for each figure)",
            ["role", "version", "window", "figure"],
            registry=r,
        )

        drift_labels = ["name", "version"]  # a feature (its reference: the champion's) or "score" (its version's)
        self.psi = Gauge(
            "flightdelay_monitor_psi",
            "Population stability index of a feature, or of a version's score, over the drift window",
            drift_labels,
            registry=r,
        )
        self.psi_threshold = Gauge(
            "flightdelay_monitor_psi_threshold",
            "The PSI above which this window is not plausibly the reference (depends on its size)",
            drift_labels,
            registry=r,
        )
        self.drifting = Gauge(
            "flightdelay_monitor_drifting", "1 while the PSI is above its threshold", drift_labels, registry=r
        )
        self.drift_events = Gauge(
            "flightdelay_monitor_drift_window_events", "Events in the drift window", drift_labels, registry=r
        )

        lineup = ["champion", "challenger"]
        figure_labels = [*lineup, "figure"]
        self.comparison_flights = Gauge(
            "flightdelay_monitor_comparison_flights",
            "Flights both versions scored whose outcome is joined, since the lineup began",
            lineup,
            registry=r,
        )
        self.comparison_effect = Gauge(
            "flightdelay_monitor_comparison_effect",
            "Challenger's gain over the champion on the same flights (ROC-AUC: challenger minus champion; Brier: "
            "champion minus challenger)",
            figure_labels,
            registry=r,
        )
        self.comparison_low = Gauge(
            "flightdelay_monitor_comparison_low", "Lower end of the gain's always-valid interval", figure_labels,
            registry=r,
        )  # fmt: skip
        self.comparison_high = Gauge(
            "flightdelay_monitor_comparison_high", "Upper end of the gain's always-valid interval", figure_labels,
            registry=r,
        )  # fmt: skip
        self.comparison_verdict = Gauge(
            "flightdelay_monitor_comparison_verdict",
            "The challenger at this look: 1 better, 0 undecided, -1 worse (valid however often it is looked at)",
            figure_labels,
            registry=r,
        )
        self.autopilot_decisions = Counter(
            "flightdelay_monitor_autopilot_decisions",
            "Reports on which the autopilot decided to act (in dry-run: would have)",
            ["mode", "action"],
            registry=r,
        )
        self.autopilot_writes = Counter(
            "flightdelay_monitor_autopilot_writes",
            "The autopilot's control writes: written, or failed (retried with backoff)",
            ["result"],
            registry=r,
        )
        for result in ("written", "failed"):
            self.autopilot_writes.labels(result=result)  # at 0 from the start: `increase()` sees the first failure
        estimate_labels = ["role", "version", "basis", "figure"]  # basis: waiting, or a window of joined flights
        self.estimate = Gauge(
            "flightdelay_model_estimated",
            "A figure estimated from the probabilities alone (the predictions still waiting, or a window's flights)",
            estimate_labels,
            registry=r,
        )
        self.estimate_low = Gauge(
            "flightdelay_model_estimated_low", "Lower end of the estimate's 95 % interval", estimate_labels, registry=r
        )
        self.estimate_high = Gauge(
            "flightdelay_model_estimated_high", "Upper end of the estimate's 95 % interval", estimate_labels,
            registry=r,
        )  # fmt: skip
        self.concept_shift = Gauge(
            "flightdelay_monitor_concept_shift",
            "1 while a window's realized figure departs from its estimate beyond chance: the relation between "
            "inputs and delays changed",
            ["role", "version", "window", "figure"],
            registry=r,
        )
        self.autopilot_stopped = Gauge(
            "flightdelay_monitor_autopilot_stopped", "1 after the autopilot rolled back, until a person acts",
            registry=r,
        )  # fmt: skip
        self.stream_values = Counter(
            "flightdelay_monitor_stream_feature_values",
            "Stream-feature values of joined predictions recomputed by the training definition",
            ["feature"],
            registry=r,
        )
        self.stream_mismatches = Counter(
            "flightdelay_monitor_stream_feature_mismatches",
            "Recomputed stream-feature values that differ from those the prediction was scored with",
            ["feature"],
            registry=r,
        )
        self.stream_unchecked = Counter(
            "flightdelay_monitor_stream_predictions_unchecked",
            "Joined predictions carrying stream features given up unchecked, pushed out of the bounded wait: "
            "event_not_read (its flight event never read, say before a restart), departures_behind (the departures "
            "never read to their end)",
            ["reason"],
            registry=r,
        )
        self.stream_waiting = Gauge(
            "flightdelay_monitor_stream_predictions_waiting",
            "Joined predictions carrying stream features waiting for their flight event or for the departures",
            registry=r,
        )
        for name in STREAM_FEATURE_NAMES:  # at 0 from the start, as the other labelled counters
            self.stream_values.labels(feature=name)
            self.stream_mismatches.labels(feature=name)
        for reason in UNCHECKED_REASONS:
            self.stream_unchecked.labels(reason=reason)

    def consistency(self, counts: ConsistencyCounts, waiting: int) -> None:
        self.stream_waiting.set(waiting)
        for name in STREAM_FEATURE_NAMES:
            self.stream_values.labels(feature=name).inc(counts.values[name])
            self.stream_mismatches.labels(feature=name).inc(counts.mismatched[name])
        for reason, count in counts.unchecked.items():
            self.stream_unchecked.labels(reason=reason).inc(count)

    def estimated(self, role: str, version: str, basis: str, figures: Sequence[EstimatedFigure]) -> None:
        """Each estimated figure's gauges; a figure the estimate does not give this time (precision with nothing
        flagged) loses its series instead of showing the last window's value as this one's."""
        given = {figure.figure for figure in figures}
        for name in set(ESTIMATED) - given:
            for gauge in (self.estimate, self.estimate_low, self.estimate_high):
                with contextlib.suppress(KeyError):
                    gauge.remove(role, version, basis, name)
            with contextlib.suppress(KeyError):
                self.concept_shift.remove(role, version, basis, name)
        for figure in figures:
            labels = {"role": role, "version": version, "basis": basis, "figure": figure.figure}
            self.estimate.labels(**labels).set(figure.estimate)
            self.estimate_low.labels(**labels).set(figure.low)
            self.estimate_high.labels(**labels).set(figure.high)
            if figure.departs is not None:
                shift = {"role": role, "version": version, "window": basis, "figure": figure.figure}
                self.concept_shift.labels(**shift).set(int(figure.departs))

    def comparison(self, report: ModelComparisonReport) -> None:
        lineup = {"champion": report.champion_version, "challenger": report.challenger_version}
        self.comparison_flights.labels(**lineup).set(report.flights)
        for figure in (report.roc_auc, report.brier):
            if figure is not None:
                labels = {**lineup, "figure": figure.figure}
                self.comparison_effect.labels(**labels).set(figure.effect)
                self.comparison_low.labels(**labels).set(figure.low)
                self.comparison_high.labels(**labels).set(figure.high)
                self.comparison_verdict.labels(**labels).set(VERDICT_VALUES[figure.verdict])

    def drift(self, version: str, drift: Drift) -> None:
        labels = {"name": drift.name, "version": version}
        self.psi.labels(**labels).set(drift.psi)
        self.psi_threshold.labels(**labels).set(drift.threshold)
        self.drifting.labels(**labels).set(int(drift.drifting))
        self.drift_events.labels(**labels).set(drift.events)

    def report(self, role: str, version: str, window: str, figures: WindowMetrics | ModelMetricsReport) -> None:
        for name in FIGURES:
            value = getattr(figures, name)
            if value is None:  # not defined for this window (one class only): no sample rather than a wrong one
                with contextlib.suppress(KeyError):
                    self.figure.remove(role, version, window, name)
            else:
                self.figure.labels(role=role, version=version, window=window, figure=name).set(value)
        if isinstance(figures, ModelMetricsReport):
            self.estimated(role, version, window, figures.estimated)
