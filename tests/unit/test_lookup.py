"""The scorer's form of a model: lookup tables verified like the pickle, refused with a reason, no scikit-learn."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from training.artifact import LoadedModel, lookup_tables
from training.cli import app
from training.lookup import load_serving_model
from training.manifest import ModelVerificationError, file_sha256


def _edit_json(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def _rewrite_tables(directory: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change lookup.json and record its new sha256: a consistent version that is wrong in another way."""
    _edit_json(directory / "lookup.json", change)
    digest = file_sha256(directory / "lookup.json")
    _edit_json(directory / "manifest.json", lambda m: m.update(lookup_sha256=digest))


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _rename_feature(tables: dict[str, Any]) -> None:
    tables["features"][0]["name"] = "month_of_year"


def _drop_coefficient(tables: dict[str, Any]) -> None:
    tables["coefficients"].pop()


def _rename_category(tables: dict[str, Any]) -> None:
    tables["features"][6]["categories"][0] += " (renamed)"


def _infinite_intercept(tables: dict[str, Any]) -> None:
    tables["intercept"] = 1e999


REFUSALS: dict[str, tuple[Callable[[Path], None], str]] = {
    "changed tables": (lambda d: _flip_byte(d / "lookup.json"), "changed or corrupted; refusing to serve"),
    "changed pickle": (lambda d: _flip_byte(d / "model.joblib"), "changed or corrupted; refusing to serve"),
    "missing tables": (lambda d: (d / "lookup.json").unlink(), "lookup.json is missing"),
    "no tables named": (
        lambda d: _edit_json(d / "manifest.json", lambda m: m.pop("lookup_sha256")),
        "names no lookup.json",
    ),
    "features it cannot compute": (
        lambda d: _rewrite_tables(d, _rename_feature),
        "are not the ones this scorer computes",
    ),
    "coefficients and categories disagree": (
        lambda d: _rewrite_tables(d, _drop_coefficient),
        "coefficients for",
    ),
    "tables and manifest disagree": (lambda d: _rewrite_tables(d, _rename_category), "list different categories"),
    "not finite": (lambda d: _rewrite_tables(d, _infinite_intercept), "must be finite"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_version_the_scorer_cannot_trust_or_serve_is_refused(model_dir: Path, tmp_path: Path, case: str) -> None:
    copy = tmp_path / model_dir.name
    shutil.copytree(model_dir, copy)
    damage, expected = REFUSALS[case]
    damage(copy)
    with pytest.raises(ModelVerificationError, match=expected):
        load_serving_model(copy)


def test_tables_hold_the_pipeline_and_need_no_pickling_library(model: LoadedModel, model_dir: Path) -> None:
    served = load_serving_model(model_dir)
    assert served.tables == lookup_tables(model.pipeline)
    assert served.version == model.version and served.threshold == model.threshold


def test_other_scikit_learn_does_not_stop_serving(model_dir: Path, tmp_path: Path) -> None:
    """The pickle is pinned to its libraries; the tables are plain numbers."""
    copy = tmp_path / model_dir.name
    shutil.copytree(model_dir, copy)
    _edit_json(copy / "manifest.json", lambda m: m["libraries"].update({"scikit-learn": "1.0.2"}))
    assert load_serving_model(copy).version == copy.name


def test_verify_refuses_tables_that_are_not_the_pipeline(model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / model_dir.name
    shutil.copytree(model_dir, copy)
    _rewrite_tables(copy, lambda t: t.update(intercept=t["intercept"] + 0.5))
    load_serving_model(copy)  # consistent on its own
    result = CliRunner().invoke(app, ["verify", str(copy)])
    assert result.exit_code == 2
    assert "does not hold the pickled pipeline's model" in result.output.replace("\n", " ")


def test_the_scorer_imports_no_model_library() -> None:
    """What keeps the scorer's memory small: loading and serving a model needs none of these."""
    heavy = ("sklearn", "scipy", "pandas", "joblib")
    code = (
        "import sys, consumer.cli, consumer.app, training.model_store; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(heavy)!r}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
