"""The training report: comparison table, ROC/PR and reliability curves, confusion matrix, coefficients."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve

from training.evaluate import THRESHOLD_RULE, Metrics
from training.explain import Contribution


@dataclass(frozen=True)
class ModelResult:
    """One model on one split: its metrics and its test-set probabilities (for the curves)."""

    name: str
    split: str
    metrics: Metrics
    fit_seconds: float
    y_true: np.ndarray
    probability: np.ndarray


def _figure(path: Path) -> None:
    plt.tight_layout()
    plt.savefig(path, dpi=110)
    plt.close()


def plot_curves(results: list[ModelResult], directory: Path) -> list[str]:
    """ROC and PR curves of every model on the 33 % test split."""
    test = [r for r in results if r.split == "test"]
    plt.figure(figsize=(5.5, 5))
    for r in test:
        fpr, tpr, _ = roc_curve(r.y_true, r.probability)
        plt.plot(fpr, tpr, label=f"{r.name} (AUC {r.metrics.roc_auc:.3f})")
    plt.plot([0, 1], [0, 1], "k:", lw=0.8)
    plt.xlabel("false positive rate")
    plt.ylabel("true positive rate (recall of delays)")
    plt.title("ROC, 33 % test split")
    plt.legend(fontsize=8)
    _figure(directory / "roc.png")
    plt.figure(figsize=(5.5, 5))
    for r in test:
        precision, recall, _ = precision_recall_curve(r.y_true, r.probability)
        plt.plot(recall, precision, label=f"{r.name} (AP {r.metrics.pr_auc:.3f})")
    plt.axhline(test[0].y_true.mean(), color="k", ls=":", lw=0.8, label="share delayed")
    plt.xlabel("recall of delayed flights")
    plt.ylabel("precision of delayed flights")
    plt.title("Precision-recall, 33 % test split")
    plt.legend(fontsize=8)
    _figure(directory / "pr.png")
    return ["roc.png", "pr.png"]


def plot_reliability(result: ModelResult, directory: Path) -> str:
    observed, predicted = calibration_curve(result.y_true, result.probability, n_bins=10, strategy="quantile")
    _, (top, bottom) = plt.subplots(2, 1, figsize=(5.5, 6), height_ratios=[3, 1], sharex=True)
    top.plot([0, 1], [0, 1], "k:", lw=0.8, label="perfectly calibrated")
    top.plot(predicted, observed, "o-", label=f"{result.name} (Brier {result.metrics.brier:.3f})")
    top.set_ylabel("observed share delayed")
    top.set_title("Reliability, 33 % test split (deciles)")
    top.legend(fontsize=8)
    bottom.hist(result.probability, bins=40, range=(0, 1), color="grey")
    bottom.set_xlabel("predicted delay_probability")
    bottom.set_ylabel("flights")
    _figure(directory / "reliability.png")
    return "reliability.png"


def plot_confusion(result: ModelResult, directory: Path) -> str:
    matrix = confusion_matrix(result.y_true, result.probability >= result.metrics.threshold)
    plt.figure(figsize=(4.5, 4))
    plt.imshow(matrix, cmap="Blues")
    for (row, col), value in np.ndenumerate(matrix):
        plt.text(col, row, f"{value:,}", ha="center", va="center", color="black")
    plt.xticks([0, 1], ["on time", "delayed"])
    plt.yticks([0, 1], ["on time", "delayed"])
    plt.xlabel("predicted")
    plt.ylabel("actual")
    plt.title(f"Confusion at threshold {result.metrics.threshold:.3f}")
    _figure(directory / "confusion.png")
    return "confusion.png"


def _row(r: ModelResult) -> str:
    m = r.metrics
    return (
        f"| {r.name} | {m.roc_auc:.3f} | {m.pr_auc:.3f} | {m.brier:.4f} | {m.threshold:.3f} | "
        f"{m.recall_delayed:.3f} | {m.precision_delayed:.3f} | {m.f1_delayed:.3f} | {r.fit_seconds:.1f} |"
    )


def write_report(
    directory: Path,
    version: str,
    results: list[ModelResult],
    production: str,
    top_coefficients: list[Contribution],
    destination_names: dict[str, str],
    facts: dict[str, str],
) -> Path:
    """Write `report.md` and its figures into the artifact directory."""
    figures = plot_curves(results, directory)
    chosen = next(r for r in results if r.name == production and r.split == "test")
    figures.append(plot_reliability(chosen, directory))
    figures.append(plot_confusion(chosen, directory))
    header = (
        "| model | ROC-AUC | PR-AUC | Brier | threshold | recall delayed | precision delayed | F1 delayed | fit s |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    lines = [f"# Delay model {version}", ""]
    lines += [f"- {key}: {value}" for key, value in facts.items()]
    lines += ["", f"Decision threshold: {THRESHOLD_RULE}. Every model gets its threshold by this rule on its own"]
    lines += ["validation split; the seed's own 0.5 threshold is shown as well.", ""]
    for split, title in (
        ("test", "33 % stratified test split (random_state=42)"),
        ("temporal", "Temporal split: train January-October, test November-December"),
    ):
        if not any(r.split == split for r in results):
            continue  # trained on January-October only: nothing later to test on
        lines += [f"## {title}", "", header]
        lines += [_row(r) for r in results if r.split == split]
        lines.append("")
    lines += ["## Curves", ""] + [f"![{name}]({name})" for name in figures] + [""]
    lines += [
        "## Largest logistic coefficients",
        "",
        "Each active category adds its coefficient to the log-odds of a delay (intercept aside).",
        "",
    ]
    lines += [f"- {c.words(destination_names)}" for c in top_coefficients]
    path = directory / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
