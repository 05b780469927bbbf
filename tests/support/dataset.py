"""The real dataset, where `make data` puts it."""

from __future__ import annotations

from pathlib import Path

DATASET = Path(__file__).resolve().parents[2] / "data" / "dataset_SCL.csv"
