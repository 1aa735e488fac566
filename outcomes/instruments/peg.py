"""PEG (Pain intensity, Enjoyment of life, General activity) 3-item scale scoring.

Source: Krebs EE, Lorenz KA, Bair MJ, et al. Development and initial validation of the PEG, a
three-item scale assessing pain intensity and interference. J Gen Intern Med 2009;24(6):733-738.
Facts as vetted in ``data/instruments.json`` (``peg``).

``score`` = arithmetic mean of q1-q3 (each 0-10), rounded half-up to 2 decimals (number of
decimals read from the data file) and returned as a float. Higher is worse. No severity cut-offs.
Responder rule (see ``change.py``): >= 30 % decrease from baseline (CDC 2022 opioid guideline).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from ._common import round_half_up, sum_items
from .registry import spec
from .validation import clean

CODE = "peg"


def score(answers: Mapping[str, Any]) -> dict[str, float]:
    """``{score}``: the rounded mean of the three items."""
    answers = clean(CODE, answers)
    rule = spec(CODE)["scoring"]["score"]
    mean = Fraction(sum_items(answers, rule["items"]), len(rule["items"]))
    return {"score": float(round_half_up(mean, rule["decimals"]))}
