"""One training run: load, split, fit and compare, choose the threshold, write artifact, manifest and report."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from training.artifact import lookup_tables, save_artifact
from training.dataset import LABEL, DatasetFormatError, load_flights
from training.evaluate import THRESHOLD_RULE, Split, choose_threshold, random_split, score, temporal_split
from training.explain import coefficients, largest
from training.features import DESTINATION, FEATURE_NAMES, INPUT_COLUMNS, SCHEDULED_DEPARTURE
from training.manifest import file_sha256, read_manifest
from training.models import CANDIDATES, PRODUCTION_C_GRID, STREAM_BINS_GRID, production_model
from training.reference import reference_profile
from training.report import ModelResult, write_report
from training.stream_backfill import with_stream_features
from training.stream_features import BINS, STREAM_FEATURE_NAMES

PRODUCTION = "production logistic"
SEED_AT_HALF = "seed baseline @ 0.5"
Progress = Callable[[str], None]


def choice_fits(stream: bool, c_given: bool) -> int:
    """The models `choose_hyperparameters` fits on one split (the default bins are in STREAM_BINS_GRID)."""
    c_options = 1 if c_given else len(PRODUCTION_C_GRID)
    if not stream:
        return 0 if c_given else c_options
    return c_options + len(STREAM_BINS_GRID) - 1


def total_steps(stream: bool, c_given: bool) -> int:
    """Progress steps of one run: load, the choices on both splits, the production model on both, the candidates
    on both, report and artifact."""
    return 1 + 2 * choice_fits(stream, c_given) + 2 + 2 * len(CANDIDATES) + 1


@dataclass(frozen=True)
class Hyperparameters:
    """What validation chooses for the production model: its regularisation and its stream features' bins."""

    c: float
    bins: int = BINS


@dataclass(frozen=True)
class TrainingRun:
    directory: Path
    manifest: dict[str, Any]
    results: list[ModelResult]
    seconds: float


def _labels(frame: pd.DataFrame) -> np.ndarray:
    return frame[LABEL].to_numpy()


def _fit_and_score(name: str, pipeline: Pipeline, split: Split) -> tuple[Pipeline, ModelResult]:
    """Fit on train, pick the threshold on validation, score on test."""
    started = time.perf_counter()
    pipeline.fit(split.train, _labels(split.train))
    seconds = time.perf_counter() - started
    threshold = choose_threshold(_labels(split.validation), pipeline.predict_proba(split.validation)[:, 1])
    probability = pipeline.predict_proba(split.test)[:, 1]
    y_true = _labels(split.test)
    return pipeline, ModelResult(name, split.name, score(y_true, probability, threshold), seconds, y_true, probability)


def choose_hyperparameters(
    split: Split, progress: Progress, stream_features: tuple[str, ...] = (), c: float | None = None
) -> Hyperparameters:
    """The production model's best validation ROC-AUC: C over PRODUCTION_C_GRID at the default bins (or `c` when
    given), then, with stream features, their bins over STREAM_BINS_GRID at that C. The first of equals wins."""
    labels = _labels(split.validation)
    tried: dict[Hyperparameters, float] = {}

    def validation_auc(candidate: Hyperparameters) -> float:
        if candidate not in tried:
            progress(f"choosing on the {split.name} split's validation: C={candidate.c}, bins={candidate.bins}")
            model = production_model(candidate.c, stream_features, candidate.bins)
            model.fit(split.train, _labels(split.train))
            tried[candidate] = float(roc_auc_score(labels, model.predict_proba(split.validation)[:, 1]))
        return tried[candidate]

    options = [Hyperparameters(value) for value in (PRODUCTION_C_GRID if c is None else (c,))]
    best = options[0] if len(options) == 1 and not stream_features else max(options, key=validation_auc)
    if stream_features:
        best = max((Hyperparameters(best.c, bins) for bins in STREAM_BINS_GRID), key=validation_auc)
    return best


def _described(choice: Hyperparameters, stream: tuple[str, ...]) -> str:
    return f"C={choice.c}" + (f", {choice.bins} bins" if stream else "")


def git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def destination_names(frame: pd.DataFrame) -> dict[str, str]:
    """Most frequent city name for each destination code (the raw data is not always consistent)."""
    return {str(k): str(v) for k, v in frame.groupby(DESTINATION)["SIGLADES"].agg(lambda s: s.mode().iloc[0]).items()}


def train(
    data_path: Path,
    models_dir: Path,
    version: str | None = None,
    progress: Progress | None = None,
    c: float | None = None,
    scheduled_before: date | None = None,
    lead_minutes: int | None = None,
) -> TrainingRun:
    """Run the whole training; see the module docstring. `c` fixes the regularisation instead of choosing it;
    `scheduled_before` trains on the flights scheduled before that day only, as a model trained then would have
    been (the temporal comparison needs November-December, so it is left out when they are); `lead_minutes`
    gives the production model the stream features, each flight's event known that long before its scheduled
    departure (the candidates keep the event's features, for comparison)."""
    step = progress or (lambda _description: None)
    started = time.perf_counter()
    step("loading and checking the dataset")
    frame = _training_frame(data_path, scheduled_before, lead_minutes)
    stream = STREAM_FEATURE_NAMES if lead_minutes is not None else ()
    test_split, late_split = random_split(frame), temporal_split(frame)
    chosen = choose_hyperparameters(test_split, step, stream, c)
    # The temporal comparison asks how the whole procedure does on months it never saw, so it chooses before
    # November: the 33 % split's validation holds November-December flights.
    late = None if late_split.test.empty else choose_hyperparameters(late_split, step, stream, c)
    production, results = _fit_all(test_split, chosen, None if late is None else (late_split, late), stream, step)
    step("writing artifact, manifest and report")
    version = version or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    manifest = _manifest(production, results, frame, test_split, (chosen, late), stream, lead_minutes)
    manifest |= {"data_sha256": file_sha256(data_path), "data_rows": len(frame)}
    manifest |= {"scheduled_before": scheduled_before.isoformat() if scheduled_before else None}
    manifest |= _figures(production, results, test_split)
    seconds = time.perf_counter() - started
    manifest["training_seconds"] = round(seconds, 2)
    directory = save_artifact(production, models_dir, version, manifest)
    manifest = read_manifest(directory)
    own_validation = "chosen on its own validation (January-October)"
    chosen_by = own_validation if c is None else f"C given, the bins {own_validation}" if stream else "given"
    facts = {
        "data": f"`{data_path.name}`, {len(frame):,} flights, sha256 `{manifest['data_sha256'][:16]}…`",
        "share delayed > 15 min": f"{frame[LABEL].mean():.2%}",
        "production model": _production_description(chosen, stream, lead_minutes),
        "choice on the temporal split": "no temporal split"
        if late is None
        else f"{_described(late, stream)}, {chosen_by}",
        "training rows / validation / test": f"{len(test_split.train):,} / {len(test_split.validation):,} / "
        f"{len(test_split.test):,}",
        "whole run (measured)": f"{seconds:.1f} s",
        "git commit": manifest["git_commit"],
    }
    top = largest(coefficients(lookup_tables(production)), 15)
    write_report(directory, version, results, PRODUCTION, top, manifest["destination_names"], facts)
    return TrainingRun(directory, manifest, results, seconds)


def _training_frame(data_path: Path, scheduled_before: date | None, lead_minutes: int | None) -> pd.DataFrame:
    """The checked flights, those before `scheduled_before` only when given, with their stream features when
    `lead_minutes` is."""
    frame = load_flights(data_path)
    if scheduled_before is not None:
        frame = frame[frame[SCHEDULED_DEPARTURE] < pd.Timestamp(scheduled_before)]
        if frame.empty:
            raise DatasetFormatError(f"no flight is scheduled before {scheduled_before}")
    # after the cut: an outcome after it was not known to a model trained then
    return frame if lead_minutes is None else with_stream_features(frame, lead_minutes)


def _fit_all(
    test_split: Split,
    chosen: Hyperparameters,
    late: tuple[Split, Hyperparameters] | None,
    stream: tuple[str, ...],
    step: Progress,
) -> tuple[Pipeline, list[ModelResult]]:
    """The production model on the 33 % split (the one shipped) and on the temporal split when there is one,
    then every candidate on each split, the seed baseline also at its 0.5 threshold."""
    step(f"fitting the production logistic model ({_described(chosen, stream)}) on the 33 % split")
    production, production_result = _fit_and_score(
        PRODUCTION, production_model(chosen.c, stream, chosen.bins), test_split
    )
    results = [production_result]
    splits = [test_split]
    if late is not None:
        late_split, late_choice = late
        step(f"fitting the production logistic model ({_described(late_choice, stream)}) on the temporal split")
        results.append(
            _fit_and_score(PRODUCTION, production_model(late_choice.c, stream, late_choice.bins), late_split)[1]
        )
        splits.append(late_split)
    for split in splits:
        for candidate in CANDIDATES:
            step(f"fitting {candidate.name} ({split.name} split)")
            _, result = _fit_and_score(candidate.name, candidate.build(), split)
            results.append(result)
            if candidate.name == "seed baseline":
                half = score(result.y_true, result.probability, 0.5)
                results.append(
                    ModelResult(SEED_AT_HALF, split.name, half, result.fit_seconds, result.y_true, result.probability)
                )
    return production, results


def _manifest(
    production: Pipeline,
    results: list[ModelResult],
    frame: pd.DataFrame,
    test_split: Split,
    choices: tuple[Hyperparameters, Hyperparameters | None],
    stream: tuple[str, ...],
    lead_minutes: int | None,
) -> dict[str, Any]:
    """What the artifact says of its model: its type and choices (on the 33 % split; on the temporal split, None
    without one), the label, the threshold, the features; the caller adds the data, the figures and the time, in
    the manifest's order."""
    chosen, late = choices
    encoder = production.named_steps["onehot"]
    feature_names = [str(name) for name in production.named_steps["features"].get_feature_names_out()]
    edges = production.named_steps["features"].stream_edges_
    (production_result,) = (r for r in results if r.name == PRODUCTION and r.split == test_split.name)
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "model": {
            "type": "LogisticRegression",
            "C": chosen.c,
            "class_weight": None,
            "training_rows": len(test_split.train),
            "temporal_C": None if late is None else late.c,
            "stream_bins": chosen.bins if stream else None,
            "temporal_stream_bins": late.bins if stream and late is not None else None,
        },
        "label": "delay_15: Fecha-O - Fecha-I > 15 minutes",
        "threshold": production_result.metrics.threshold,
        "threshold_rule": THRESHOLD_RULE,
        "feature_schema": {
            "input_columns": list(INPUT_COLUMNS),
            "features": [
                {"name": name, "categories": [str(v) for v in categories]}
                for name, categories in zip(feature_names, encoder.categories_, strict=True)
            ],
        },
        "stream_features": None
        if lead_minutes is None
        else {"lead_minutes": lead_minutes, "features": [{"name": name, "edges": edges[name]} for name in stream]},
        "destination_names": destination_names(frame),
    }


def _figures(production: Pipeline, results: list[ModelResult], test_split: Split) -> dict[str, Any]:
    """The production model's figures by split, its drift reference, and every model compared."""
    reference = reference_profile(test_split.train, production.predict_proba(test_split.validation)[:, 1])
    return {
        "metrics": {r.split: r.metrics.as_dict() for r in results if r.name == PRODUCTION},
        "reference": reference.model_dump(),
        "comparison": [
            {"model": r.name, "split": r.split, "fit_seconds": round(r.fit_seconds, 3), **r.metrics.as_dict()}
            for r in results
        ],
    }


def _production_description(chosen: Hyperparameters, stream: tuple[str, ...], lead_minutes: int | None) -> str:
    description = (
        f"logistic regression, C={chosen.c}, no class weighting, {len(FEATURE_NAMES)} categorical features one-hot "
        "encoded"
    )
    if stream:
        description += (
            f", {len(stream)} stream features binned (event known {lead_minutes} min ahead), up to {chosen.bins} "
            "quantile bins each"
        )
    return description
