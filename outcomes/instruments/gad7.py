"""GAD-7 (Generalized Anxiety Disorder 7-item scale) scoring.

Source: Spitzer RL, Kroenke K, Williams JBW, Löwe B. A brief measure for assessing generalized
anxiety disorder: the GAD-7. Arch Intern Med 2006;166(10):1092-1097. Facts as vetted in
``data/instruments.json`` (``gad7``).

``total`` = sum of q1-q7 (each 0-3; 0-21). Severity cut-offs (read from the data file):
minimal 0-4, mild 5-9, moderate 10-14, severe 15-21. Responder: total falls >= 4 (Toussaint et
al. 2020).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._common import band, sum_items
from .registry import spec
from .specs import InstrumentSpec, Measure, TrendSeries

CODE = "gad7"


def _score(answers: Mapping[str, int]) -> dict[str, Any]:
    """``{total, severity}`` of validated answers."""
    rules = spec(CODE)["scoring"]
    total = sum_items(answers, rules["total"]["items"])
    return {"total": total, "severity": band(total, rules["severity"])}


SPEC = InstrumentSpec(
    code=CODE,
    label="GAD-7: anxiety",
    short_label="GAD-7",
    scorer=_score,
    headline_keys=("total",),
    primary_key="total",
    summary=lambda s: f"total {s['total']} ({s['severity'].replace('_', ' ')})",
    display_range=(0, 21),
    trend=(TrendSeries("total", "GAD-7 total"),),
    measures=(Measure("gad7", "GAD-7", "total", scale=1),),
    bands={"total": "severity"},
    intake="baseline",
)
score = SPEC.score  # validates the whole response, then scores: {total, severity}
