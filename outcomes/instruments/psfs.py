"""Patient-Specific Functional Scale: up to five activities the patient names, each rated 0-10.

Sources: Stratford P, Gill C, Westaway M, Binkley J. Assessing disability and change on individual
patients: a report of a patient specific measure. Physiotherapy Canada 1995;47(4):258-263; Horn
KK, et al. The Patient-Specific Functional Scale: psychometrics, clinimetrics, and application as
a clinical outcome measure. J Orthop Sports Phys Ther 2012;42(1):30-42. Facts as vetted in
``data/instruments.json`` (``psfs``).

Keys a1..a5, each 0 (unable to perform) to 10 (as before the problem); a1 is required, a2-a5
optional (the activities come from the patient's care-plan goals). ``score`` = mean of the
answered activities, rounded half-up to 2 decimals (0-10); ``activities`` = each answered
activity's rating. Higher is better. Responder: the mean rises >= 2; one activity improves
meaningfully when it rises >= 3 (:func:`activity_changes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from ._common import round_half_up
from .mcid import SIGN, MCIDRule, exact_mean
from .registry import get, spec
from .specs import InstrumentSpec, Measure, TrendSeries

CODE = "psfs"
DECIMALS = 2  # JSON: "rounded half-up to 2 decimals"
ACTIVITY = "activities."


def _score(answers: Mapping[str, int]) -> dict[str, Any]:
    """``{score, activities}`` of validated answers (a1 always among them)."""
    activities = {item["key"]: answers[item["key"]] for item in spec(CODE)["items"]
                  if item["key"] in answers}
    mean = Fraction(sum(activities.values()), len(activities))
    return {"score": float(round_half_up(mean, DECIMALS)), "activities": activities}


def mcid_rule(key: str) -> MCIDRule | None:
    """Mean (``score``): >= 2 points; one activity (``activities.a1``...): >= 3 points."""
    facts = get(CODE)
    threshold = facts.mcid["single_activity"] if key.startswith(ACTIVITY) else facts.mcid["score"]
    return MCIDRule(relative=False, threshold=Fraction(str(threshold)),
                    sign=SIGN[facts.direction])


def activity_changes(
    baseline_scores: Mapping[str, Any], scores: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Per activity rated both times: ``{baseline, value, change, classification}`` (>= 3)."""
    before, after = baseline_scores["activities"], scores["activities"]
    out = {}
    for key in before:
        if key not in after:
            continue
        rule = mcid_rule(ACTIVITY + key)
        out[key] = {"baseline": before[key], "value": after[key],
                    "change": after[key] - before[key],
                    "classification": rule.classify(Fraction(before[key]), Fraction(after[key]))}
    return out


def _exact_score(reported: float) -> Fraction:
    """The exact mean of 1-5 ratings behind a reported 2-decimal score."""
    return exact_mean(reported, len(spec(CODE)["items"]))


def _summary(scores: Mapping[str, Any]) -> str:
    count = len(scores["activities"])
    return f"mean {scores['score']} over {count} activit{'y' if count == 1 else 'ies'}"


SPEC = InstrumentSpec(
    code=CODE,
    label="PSFS: patient-specific function",
    short_label="PSFS",
    scorer=_score,
    headline_keys=("score",),
    primary_key="score",
    summary=_summary,
    display_range=(0, 10),
    trend=(TrendSeries("score", "PSFS mean"),),
    # A mean of 1-5 integers reported to 2 decimals: x60 (a multiple of 1..5) recovers an
    # integer, so the SQL MCID test stays exact.
    measures=(Measure("psfs", "PSFS", "score", scale=60),),
    exact=_exact_score,
    custom_mcid=mcid_rule,
)
score = SPEC.score  # validates the whole response, then scores: {score, activities}
