"""PHQ-9 (Patient Health Questionnaire-9) scoring.

Source: Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression severity
measure. J Gen Intern Med 2001;16(9):606-613. Facts as vetted in ``data/instruments.json``
(``phq9``).

``total`` = sum of q1-q9 (each 0-3; 0-27). Severity cut-offs (read from the data file):
none_minimal 0-4, mild 5-9, moderate 10-14, moderately_severe 15-19, severe 20-27.
``item9_positive`` = q9 > 0 (any thoughts of self-harm), whatever the total — a safety flag.
q10 (difficulty) is optional and never scored. Responder: total falls >= 5 (Löwe et al. 2004).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._common import band, sum_items
from .registry import spec
from .specs import InstrumentSpec, Measure, SafetyFlag, TrendSeries

CODE = "phq9"
SUICIDALITY_ITEM = "q9"  # JSON rule: "q9 > 0 (any answer other than 'Not at all')"


def _score(answers: Mapping[str, int]) -> dict[str, Any]:
    """``{total, severity, item9_positive}`` of validated answers."""
    rules = spec(CODE)["scoring"]
    total = sum_items(answers, rules["total"]["items"])
    return {
        "total": total,
        "severity": band(total, rules["severity"]),
        "item9_positive": answers[SUICIDALITY_ITEM] > 0,
    }


SPEC = InstrumentSpec(
    code=CODE,
    label="PHQ-9: depression",
    short_label="PHQ-9",
    scorer=_score,
    headline_keys=("total",),
    primary_key="total",
    summary=lambda s: f"total {s['total']} ({s['severity'].replace('_', ' ')})",
    display_range=(0, 27),
    trend=(TrendSeries("total", "PHQ-9 total"),),
    measures=(Measure("phq9", "PHQ-9", "total", scale=1),),
    bands={"total": "severity"},
    intake="baseline",
    safety_flag=SafetyFlag("item9_positive", alert_kind="phq9_item9"),
)
score = SPEC.score  # validates the whole response, then scores: {total, severity, item9_positive}
