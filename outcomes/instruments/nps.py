"""Net Promoter Score (program recommendation, single 0-10 item).

Source: Reichheld FF. The one number you need to grow. Harv Bus Rev 2003;81(12):46-54; listed
among IPM patient-experience measures in Lentz TA, et al. J Pain 2023 (Table 3). Facts as vetted
in ``data/instruments.json`` (``nps``).

``score`` = the answer (0-10). ``category`` cut-offs (read from the data file): detractor 0-6,
passive 7-8, promoter 9-10. The program NPS (% promoters - % detractors over each patient's latest
answer, -100..100) is a program-level aggregate computed elsewhere; see :func:`program_nps`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from ._common import band, round_half_up
from .registry import spec
from .specs import InstrumentSpec

CODE = "nps"
ITEM = "q1"


def _score(answers: Mapping[str, int]) -> dict[str, Any]:
    """``{score, category}`` of a validated answer."""
    value = answers[ITEM]
    return {"score": value, "category": category(value)}


def category(value: int) -> str:
    """detractor / passive / promoter, from the JSON's ``[min, max]`` ranges."""
    ranges = spec(CODE)["scoring"]["category"]
    return band(value, ({"value": name, "min": lo, "max": hi} for name, (lo, hi) in ranges.items()))


def program_nps(categories: Iterable[str]) -> float | None:
    """100 * (promoters - detractors) / respondents, rounded half-up to 1 decimal.

    ``None`` when there are no answers. The caller chooses the answers (each patient's latest
    in the period, per the JSON rule).
    """
    counted = list(categories)
    if not counted:
        return None
    net = counted.count("promoter") - counted.count("detractor")
    return float(round_half_up(Fraction(100 * net, len(counted)), 1))


SPEC = InstrumentSpec(
    code=CODE,
    label="Net Promoter Score",
    short_label="NPS",
    scorer=_score,
    headline_keys=("score",),
    primary_key="score",
    summary=lambda s: f"{s['score']} ({s['category']})",
    display_range=(0, 10),
    bands={"score": "category"},
)
score = SPEC.score  # validates the whole response, then scores: {score, category}
