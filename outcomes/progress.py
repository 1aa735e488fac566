"""Responder and not-improving flags (docs/product.md §3.4): pure Python, no ORM.

- ``responder``: the latest PEG follow-up improved by at least the MCID against baseline
  (PEG: a fall of >= 30 % of the baseline score; ``outcomes.instruments.change``).
- ``not_improving``: the latest PEG follow-up was answered 12 weeks or more after the intake
  date and shows no improvement >= MCID against baseline: a step up in care is suggested.

Baseline is the patient's first PEG; "latest" is the most recent PEG answered after it.
Before any follow-up both flags are off (nothing to judge yet). A follow-up at 11 weeks
never sets ``not_improving``, even without improvement: the rule waits for 12 weeks.
Without an intake date, weeks count from the baseline PEG.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .instruments import compare
from .instruments.change import IMPROVED

NOT_IMPROVING_AFTER = timedelta(weeks=12)


@dataclass(frozen=True)
class Flags:
    responder: bool = False
    not_improving: bool = False


def peg_flags(
    *,
    intake_date: date | None,
    baseline: tuple[date, Mapping[str, Any]] | None,
    latest: tuple[date, Mapping[str, Any]] | None,
) -> Flags:
    """Flags from the baseline PEG and the latest PEG follow-up, each ``(local date, scores)``.

    Pass ``latest=None`` when the patient has only the baseline.
    """
    if baseline is None or latest is None:
        return Flags()
    (baseline_on, baseline_scores), (latest_on, latest_scores) = baseline, latest
    improved = compare("peg", baseline_scores, latest_scores)["score"]["classification"] == IMPROVED
    start = intake_date or baseline_on
    late_enough = latest_on - start >= NOT_IMPROVING_AFTER
    return Flags(responder=improved, not_improving=late_enough and not improved)
