"""`flightdelay-monitor report` on the real broker, looked at in headless Chromium: a year of flight events and the
champion's and a challenger's joined predictions go to their topics, the command reads them back, and the page a
browser renders has every figure drawn (the screenshot is kept under build/test-output)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from consumer.scoring import BatchScorer
from consumer.transform import BatchTransform, OutputKind
from kafka_common.settings import TopicSettings
from monitor.report_page import FIGURES
from producer.replay import dataset_flights, event_record, outcome_of
from schemas.flight_event import FlightEvent
from schemas.monitoring import JoinedPrediction
from schemas.outputs import DelayPrediction, SourcePosition
from stream_runtime.records import PlainRecord
from tests.support.dataset import DATASET
from tests.support.streaming import send
from training.lookup import ServingModel

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "test-output"
AT = SourcePosition(topic="t", partition=0, offset=0)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.fail("no Chromium: `apt-get install chromium` (make test names it when it is missing)")


def joined_predictions(
    serving_model: ServingModel, flights: list[tuple[dict[str, str], FlightEvent]], with_challenger: bool
) -> tuple[list[bytes], list[bytes]]:
    """The real model's predictions of the flights, and those joined with their real outcomes, as champion and
    (`with_challenger`) as a challenger: the same model under another version, its probabilities blurred."""
    transform = BatchTransform(
        BatchScorer(serving_model), group_id="g", max_payload_bytes=65536, dead_letter_max_value_bytes=65536
    )
    records = [PlainRecord(event_record(row, event, "canonical")[1], None) for row, event in flights]
    values: list[bytes] = []
    predictions: list[bytes] = []
    rng = np.random.default_rng(5)
    for start in range(0, len(records), 2000):
        result = transform(records[start : start + 2000], datetime.now(UTC))
        outputs = result.outputs[OutputKind.PREDICTION]
        for (_, value), (row, event) in zip(outputs, flights[start : start + 2000], strict=True):
            prediction = DelayPrediction.model_validate_json(value)
            predictions.append(value)
            outcome = outcome_of(row, event)
            versions = [("champion", prediction.model_version, prediction.delay_probability)]
            if with_challenger:
                blurred = float(np.clip(prediction.delay_probability + rng.normal(0, 0.1), 0, 1))
                versions.append(("challenger", "blurred", blurred))
            for role, version, probability in versions:
                record = JoinedPrediction(
                    flight_id=prediction.flight_id, role=role, model_version=version,
                    delay_probability=probability, threshold=prediction.threshold,
                    predicted_delayed=probability >= prediction.threshold, delayed=outcome.delayed,
                    delay_minutes=outcome.delay_minutes, scheduled_departure=prediction.scheduled_departure,
                    prediction=AT, outcome=AT,
                )  # fmt: skip
                values.append(record.model_dump_json().encode())
    return predictions, values


RUNS: dict[str, tuple[Callable[[int, dict[str, str]], bool], bool]] = {
    "year": (lambda i, row: i % 10 == 0, True),  # 6,821 flights over 2017, two versions
    "two-days": (lambda i, row: row["Fecha-I"][:10] in ("2017-07-01", "2017-07-02"), False),  # one version
}


@pytest.mark.parametrize("run", sorted(RUNS))
def test_the_report_renders_every_figure_in_a_browser(
    bootstrap: str,
    model_dir: Path,
    serving_model: ServingModel,
    stream_topics: TopicSettings,
    tmp_path: Path,
    run: str,
) -> None:
    browser = chromium()
    chosen, with_challenger = RUNS[run]
    flights = [flight for i, flight in enumerate(dataset_flights(DATASET)) if chosen(i, flight[0])]
    send(bootstrap, stream_topics.input, [event_record(row, event, "canonical") for row, event in flights])
    predictions, joined = joined_predictions(serving_model, flights, with_challenger)
    send(bootstrap, stream_topics.predictions, [(None, value) for value in predictions])
    send(bootstrap, stream_topics.joined, [(None, value) for value in joined])

    page = tmp_path / "report.html"
    env = {**os.environ, **stream_topics.environment(), "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
           "MONITOR_MODEL_URI": str(model_dir), "MONITOR_WINDOW_EVENTS": "1000",
           "MONITOR_DRIFT_WINDOW_EVENTS": "1000"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "report", "--out", str(page)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    versions = "2 versions" if with_challenger else "1 version"
    assert f"{len(joined):,} joined predictions of {versions}, {len(flights):,} flights" in done.stderr

    screenshot = SCREENSHOTS / f"monitor-report-{run}.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    headless = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,3900"]
    shot = subprocess.run(
        [*headless, f"--screenshot={screenshot}", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert screenshot.is_file(), shot.stderr
    dom = subprocess.run([*headless, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    print(f"screenshot of the report: {screenshot}")

    for name in FIGURES:  # each figure drawn: an SVG with plotted lines, not the empty placeholder
        figure = re.search(rf'<figure id="{name}"><svg.*?</svg>', dom, re.S)
        assert figure is not None, f"{name} missing from the rendered page"
        if name == "gate" and not with_challenger:
            assert "no flight scored by both" in figure.group(0), "one version: nothing to compare, and it says so"
            continue
        assert len(re.findall(r"<path", figure.group(0))) > 10, name
        assert "no joined predictions" not in figure.group(0) and "no flight events" not in figure.group(0)
    assert "<td>score</td>" in dom, "the drift table has the score's row, as /metrics has"
    for version in (serving_model.version, "blurred")[: 2 if with_challenger else 1]:
        assert f"<td>{version}</td>" in dom, f"{version} missing from the summary table"
    test = serving_model.manifest.metrics["test"]
    champion_row = re.search(rf"<tr><td>champion</td><td>{serving_model.version}</td>.*?</tr>", dom)
    assert champion_row is not None
    for offline in (test["roc_auc"], test["recall_delayed"]):  # the manifest's figures beside the online ones
        assert f"<td>{offline:.3f}</td>" in champion_row.group(0)
    estimates = dom.split("Estimated before the outcomes")[1]
    promised = re.search(
        rf"<td>champion</td><td>{serving_model.version}</td><td>all [0-9,]+</td><td[^>]*>([0-9.]+) \[", estimates
    )
    assert promised is not None, "the champion's ROC-AUC as its probabilities promised it, beside the outcome's"
    assert re.search(r"<td>month</td><td>[0-9.]+</td><td>[0-9.]+</td><td>yes</td>", dom), (
        "a year's windows: month drifts"
    )

    image = np.asarray(Image.open(screenshot).convert("L"))
    inked_rows = (image < 200).any(axis=1)
    assert inked_rows.mean() > 0.3, "the screenshot is mostly blank"
