"""`training` commands run in-process against a real broker, as a person types them."""

from __future__ import annotations

from typer.testing import CliRunner

from kafka_common.settings import TopicSettings
from training.cli import app as training_app


def training(bootstrap: str, topics: TopicSettings, *args: str) -> tuple[int, str]:
    """Exit code and output (the terminal's width does not matter: rich writes to a plain buffer here)."""
    result = CliRunner().invoke(
        training_app, [*args, "--bootstrap", bootstrap], env={**topics.environment(), "MODEL_URI": None}
    )
    return result.exit_code, result.output
