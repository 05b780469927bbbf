"""docs/reliability.md shows one run: its outcomes, its figures, and "not run" for what it did not run."""

from __future__ import annotations

from tests.reliability.render_doc import DOC, SCENARIOS, render


def test_the_page_shows_one_runs_outcomes_and_says_what_did_not_run() -> None:
    run = {
        "started": "2026-11-28T03:00:00+00:00",
        "outcomes": {
            "test_chaos.py::test_five_sigkills_and_restarts_lose_and_duplicate_nothing": "passed",
            "test_chaos.py::test_one_of_three_consumers_killed": "failed",
            "test_model_safety.py::test_scorer_refuses_an_unverified_model[tampered artifact]": "passed",
            "test_model_safety.py::test_scorer_refuses_an_unverified_model[missing manifest]": "failed",
        },
        "figures": {"crash_single": {"lost": 0, "duplicated": 0}},
    }
    page = render(run)
    assert "one run started 2026-11-28T03:00:00+00:00" in page
    sections = page.split("\n## ")
    by_title = {section.split("\n", 1)[0]: section for section in sections}
    assert "**passed**" in by_title[SCENARIOS[0][1]] and "| lost | 0 |" in by_title[SCENARIOS[0][1]]
    assert "**FAILED**" in by_title[SCENARIOS[1][1]]
    assert all("**not run**" in by_title[title] for _, title, _ in SCENARIOS[2:]), "no figures from other runs"
    safety = by_title["Model safety and security (pass/fail)"]
    assert "| FAILED |" in safety, "one failed parameter fails the check"
    assert safety.count("| not run |") == 4


def test_the_committed_page_says_what_its_renderer_says() -> None:
    """Prose edited on the page alone would be lost at its next rendering: apart from one run's figures and
    outcomes, the page is the renderer's text."""
    generated = ("|", "`tests/reliability/", "Figures measured by")

    def prose(text: str) -> list[str]:
        return [line for line in text.splitlines() if line and not line.startswith(generated)]

    assert prose(DOC.read_text(encoding="utf-8")) == prose(render({"started": "", "outcomes": {}, "figures": {}}))
