"""Which dead letters a redrive takes, and the record it re-publishes: the original key, bytes and headers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from producer.cli import app
from producer.redrive import REDRIVE_HEADER, Selection, original, skip_reason
from schemas import DeadLetter, FieldError, Header, SourcePosition

AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def letter(**change: object) -> DeadLetter:
    fields: dict[str, object] = {
        "error_kind": "invalid_event", "reason": "unknown airline", "key_base64": base64.b64encode(b"K-1").decode(),
        "errors": [FieldError(field="airline_name", error="unknown", message="never seen")],
        "value_base64": base64.b64encode(b'{"x":1}').decode(), "value_bytes": 7, "value_sha256": "ab" * 32,
        "headers": [Header(key="trace", value_base64=base64.b64encode(b"t-1").decode()),
                    Header(key="n", value_base64=None)],
        "source": SourcePosition(topic="flights.scheduled", partition=2, offset=9), "consumer_group": "g",
        "dead_lettered_at": AT,
    }  # fmt: skip
    return DeadLetter.model_validate({**fields, **change})


EVERYTHING = Selection()


@pytest.mark.parametrize(
    ("case", "selection", "reason"),
    [
        (letter(), EVERYTHING, None),
        (letter(), Selection(kinds=frozenset({"invalid_event", "not_json"})), None),
        (letter(), Selection(kinds=frozenset({"not_json"})), "another kind"),
        (letter(), Selection(since=AT), None),  # the bound is inclusive
        (letter(), Selection(since=datetime(2026, 11, 28, 12, 0, 1, tzinfo=UTC)), "before --since"),
        (letter(), Selection(until=AT), "at or after --until"),
        (letter(), Selection(until=datetime(2026, 11, 28, 12, 0, 1, tzinfo=UTC)), None),
        (letter(), Selection(source_topic="flights.scheduled"), None),
        (letter(), Selection(source_topic="other"), "another source topic"),
        (letter(headers=[Header(key=REDRIVE_HEADER, value_base64="YQ==")]), EVERYTHING,
         "redriven once already and failed again"),
        (letter(value_base64=None, value_bytes=5_000_000), EVERYTHING, "value too large to have been kept"),
        (letter(value_base64=None, value_bytes=0, value_sha256=None), EVERYTHING, None),  # a null value, kept as such
    ],
)  # fmt: skip
def test_a_letter_is_taken_unless_a_rule_says_why_not(
    case: DeadLetter, selection: Selection, reason: str | None
) -> None:
    assert skip_reason(case, selection) == reason


def test_the_original_record_comes_back_byte_for_byte_with_the_redrive_mark() -> None:
    key, value, headers = original(letter(), "dlq/2/41")
    assert (key, value) == (b"K-1", b'{"x":1}')
    assert headers == [("trace", b"t-1"), ("n", None), (REDRIVE_HEADER, b"dlq/2/41")]
    assert original(letter(key_base64=None, value_base64=None, value_sha256=None, headers=[]), "p")[:2] == (None, None)


def test_a_window_that_holds_no_instant_is_refused_before_the_broker_is_asked() -> None:
    """`--since` is inclusive and `--until` exclusive: equal or reversed, nothing could be redriven."""
    for since, until in (("2026-11-02", "2026-11-01"), ("2026-11-01T10:00", "2026-11-01T10:00")):
        result = CliRunner().invoke(app, ["redrive", "--since", since, "--until", until, "--bootstrap", "127.0.0.1:1"])
        assert result.exit_code == 2, result.output
        assert "is not before --until" in " ".join(result.output.split()), result.output
