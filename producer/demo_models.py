"""`make run`'s two model versions, trained on the flights scheduled before the ones it replays: a champion that
reads the stream features and a challenger that does not. They live in a directory of their own, trained once and
again only when missing or refused by verification, so the run's online figures are on flights neither has seen."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rich.console import Console

from training.lookup import load_serving_model
from training.manifest import ModelVerificationError, read_manifest
from training.stream_backfill import DEFAULT_LEAD_MINUTES
from training.train import train

REPLAY_FROM = date(2017, 12, 1)  # the replay starts here; the versions train on the flights before it
CHAMPION = f"stream-before-{REPLAY_FROM.isoformat()}"
CHALLENGER = f"event-before-{REPLAY_FROM.isoformat()}"


@dataclass(frozen=True)
class DemoVersions:
    champion: Path  # with the stream features, each event known `DEFAULT_LEAD_MINUTES` ahead
    challenger: Path  # the event's own features only


def demo_versions(data: Path, models: Path, console: Console) -> DemoVersions:
    """The two versions under `models`, each verified, or trained there when it is missing or refused."""
    found = [
        _verified_or_trained(data, models, CHAMPION, DEFAULT_LEAD_MINUTES, console),
        _verified_or_trained(data, models, CHALLENGER, None, console),
    ]
    return DemoVersions(*found)


def _verified_or_trained(data: Path, models: Path, version: str, lead: int | None, console: Console) -> Path:
    directory = models / version
    if directory.exists():
        try:
            load_serving_model(directory)
            _trained_as_wanted(directory, lead)
            return directory
        except ModelVerificationError as exc:
            console.print(f"[yellow]{version} refused, training it again:[/] {exc}")
            shutil.rmtree(directory)
    what = "with the stream features" if lead is not None else "without the stream features"
    with console.status(f"training {version} ({what}) on the flights before {REPLAY_FROM}…") as status:
        run = train(
            data,
            models,
            version=version,
            progress=lambda step: status.update(f"training {version}: {step}"),
            scheduled_before=REPLAY_FROM,
            lead_minutes=lead,
        )
    console.print(f"trained {version} ({what}) on the flights before {REPLAY_FROM}: {run.directory}")
    return run.directory


def _trained_as_wanted(directory: Path, lead: int | None) -> None:
    """A version found under the run's name must have been trained as the run trains it: on the flights before
    `REPLAY_FROM` (else its online figures would be on flights it learned), with or without the stream features."""
    manifest = read_manifest(directory)
    stream = manifest.get("stream_features")
    cut = manifest.get("scheduled_before")
    if cut != REPLAY_FROM.isoformat():
        trained_on = f"the flights before {cut}" if cut else "every flight of the dataset"
        raise ModelVerificationError(
            f"{directory} was trained on {trained_on}; the run replays those from {REPLAY_FROM}"
        )
    if (stream is None) != (lead is None) or (stream is not None and stream.get("lead_minutes") != lead):
        raise ModelVerificationError(f"{directory} does not read the stream features the run's {directory.name} reads")
