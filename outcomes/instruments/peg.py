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

from ._common import round_half_up, sum_items
from .mcid import exact_mean
from .registry import spec
from .specs import InstrumentSpec, Measure, TrendSeries

CODE = "peg"


def _score(answers: Mapping[str, int]) -> dict[str, float]:
    """``{score}``: the rounded mean of the three (validated) items."""
    rule = spec(CODE)["scoring"]["score"]
    mean = Fraction(sum_items(answers, rule["items"]), len(rule["items"]))
    return {"score": float(round_half_up(mean, rule["decimals"]))}


def exact_score(reported: float) -> Fraction:
    """The exact mean (k / 3) behind a reported 2-decimal score, for the 30 % rule."""
    return exact_mean(reported, len(spec(CODE)["scoring"]["score"]["items"]))


SPEC = InstrumentSpec(
    code=CODE,
    label="PEG: pain, enjoyment of life, general activity",
    short_label="PEG",
    scorer=_score,
    headline_keys=("score",),
    primary_key="score",
    summary=lambda s: f"score {s['score']}",
    display_range=(0, 10),
    trend=(TrendSeries("score", "PEG score"),),
    # x3 recovers the item sum from the 2-decimal mean, so the SQL MCID test is exact.
    measures=(Measure("peg", "PEG", "score", scale=3),),
    intake="baseline",
    exact=exact_score,
)
score = SPEC.score  # validates the whole response, then scores: {score}
