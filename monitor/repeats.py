"""When a model's figures, or a lineup's comparison, are reported again."""

from __future__ import annotations


def last_report_stands(reported: int | None, joined: int, served: bool) -> bool:
    """True when the last report (made at `reported` joined flights, None: none yet) still says all there is: what
    the scorers no longer serve and that has joined no flight since. A replaced version's figures and a past
    lineup's comparison are frozen once their last outcomes arrive; repeated every interval for good, they would
    fill the metrics topic with copies and cost their recomputation. What is served is reported every interval,
    changed or not: its `reported_at` says the monitor still watches it."""
    return not served and reported == joined
