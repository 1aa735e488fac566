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
from .validation import clean

CODE = "gad7"


def score(answers: Mapping[str, Any]) -> dict[str, Any]:
    """``{total, severity}``."""
    answers = clean(CODE, answers)
    rules = spec(CODE)["scoring"]
    total = sum_items(answers, rules["total"]["items"])
    return {"total": total, "severity": band(total, rules["severity"])}
