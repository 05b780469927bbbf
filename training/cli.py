"""`training`: fit the delay model on the dataset and write a verified artifact with its report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from training.artifact import lookup_tables
from training.dataset import DatasetFormatError
from training.lookup import load_serving_model
from training.manifest import ModelVerificationError
from training.model_store import load_model, publish_to_s3
from training.train import PRODUCTION, TOTAL_STEPS, train

app = typer.Typer(help="Train and inspect the flight-delay model.", no_args_is_help=True)
console = Console()
if not console.is_terminal:  # logs and pipes: keep table rows on one line
    console.width = 150


@app.command()
def fit(
    data: Annotated[Path, typer.Option(help="the SCL flights CSV")] = Path("data/dataset_SCL.csv"),
    out: Annotated[Path, typer.Option(help="models directory; the run writes out/<version>/")] = Path("models"),
    version: Annotated[str | None, typer.Option(help="version name (default: UTC timestamp)")] = None,
) -> None:
    """Train, compare candidates, choose the threshold, write model.joblib, manifest.json and report.md."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("training", total=TOTAL_STEPS)

            def step(description: str) -> None:
                progress.update(task, description=description, advance=1)

            run = train(data, out, version, step)
    except DatasetFormatError as exc:
        console.print(f"[red]bad dataset[/]: {exc}")
        raise typer.Exit(2) from exc
    table = Table(title=f"model {run.manifest['version']} in {run.directory} ({run.seconds:.1f} s)")
    for column in ("model", "split", "ROC-AUC", "PR-AUC", "Brier", "recall", "precision", "F1", "threshold"):
        table.add_column(column)
    for r in run.results:
        m = r.metrics
        style = "bold" if r.name == PRODUCTION else ""
        table.add_row(
            r.name,
            r.split,
            f"{m.roc_auc:.3f}",
            f"{m.pr_auc:.3f}",
            f"{m.brier:.4f}",
            f"{m.recall_delayed:.3f}",
            f"{m.precision_delayed:.3f}",
            f"{m.f1_delayed:.3f}",
            f"{m.threshold:.3f}",
            style=style,
        )
    console.print(table)
    console.print(f"report: {run.directory / 'report.md'}")


EXIT_REFUSED = 2


@app.command()
def verify(
    uri: Annotated[
        str, typer.Argument(help="a version directory, a models directory, or s3://bucket/prefix/")
    ] = "models",
) -> None:
    """Check an artifact (manifest, every file's sha256, library versions, lookup tables equal to the pipeline)
    and print its headline figures."""
    try:
        model = load_model(uri)
        served = load_serving_model(model.directory)
        if served.tables != lookup_tables(model.pipeline):
            raise ModelVerificationError(f"{model.directory}: lookup.json does not hold the pickled pipeline's model")
    except ModelVerificationError as exc:
        console.print(f"[red]refused[/]: {exc}")
        raise typer.Exit(EXIT_REFUSED) from exc  # the scorer's exit code for the same refusal
    test = model.manifest.metrics["test"]
    console.print(
        f"[green]ok[/] {uri}: version {model.version}, threshold {model.threshold:.3f}, "
        f"test ROC-AUC {test['roc_auc']:.3f}, recall {test['recall_delayed']:.3f}"
    )


@app.command()
def publish(
    to: Annotated[str, typer.Option(help="models root in S3, e.g. s3://bucket/models/")],
    path: Annotated[Path, typer.Argument(help="a version directory or a models directory")] = Path("models"),
    latest: Annotated[bool, typer.Option(help="point <to>/latest at this version after the upload")] = True,
) -> None:
    """Upload a verified version to S3 (files first, then the `latest` pointer) and print its URI."""
    try:
        uri = publish_to_s3(path, to, make_latest=latest)
    except ModelVerificationError as exc:
        console.print(f"[red]refused[/]: {exc}")
        raise typer.Exit(1) from exc
    print(uri)
