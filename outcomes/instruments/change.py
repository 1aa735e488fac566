"""Change from baseline and responder classification against each measure's MCID.

Rules (all read from the ``mcid`` objects in ``data/instruments.json``):

- PEG: relative change; improved when the score falls by >= 30 % of baseline (CDC Clinical
  Practice Guideline for Prescribing Opioids for Pain, MMWR Recomm Rep 2022;71(3): "clinically
  meaningful improvement has been defined as a 30% improvement in scores for both pain and
  function"). Worsened is defined symmetrically here (the guideline defines only improvement):
  a rise of >= 30 % of baseline. At baseline 0 nothing can improve, and any rise is an unbounded
  relative increase, so it counts as worsened.
- PHQ-9: total falls >= 5 (Löwe et al., Med Care 2004); worsened: rises >= 5.
- GAD-7: total falls >= 4 (Toussaint et al., J Affect Disord 2020); worsened: rises >= 4.
- PROMIS-29 domains: >= 3 T-score points in the domain's improving direction (HealthMeasures;
  Terwee et al. 2021); the same distance the other way is worsened. PROMIS-29 pain intensity has
  no MCID in the facts: classification ``None``.
- PROMIS Global Health GPH/GMH: T-score up >= 3 improved, down >= 3 worsened.
- STarT Back and NPS have no MCID: classification ``None``.

Boundaries are inclusive ("falls >= 5"). Arithmetic is exact (fractions of the reported decimals),
so 53.3 -> 50.3 is exactly 3 T points, not 2.9999999999999964 as in binary floats.

PEG scores are means of three integers reported to 2 decimals. Comparing the rounded means would
misclassify exact 30 % changes (item sum 20 -> 14 is exactly -30 %, but 6.67 -> 4.67 is -29.99 %),
so the rule is applied to the exact mean recovered from the reported score (nearest third).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ._common import round_half_up
from .registry import get, spec
from .scoring import headline

IMPROVED = "improved"
WORSENED = "worsened"
UNCHANGED = "unchanged"

_RELATIVE = "relative_change_from_baseline"
_ABSOLUTE = "absolute_change_from_baseline"
_SIGN = {"increase": 1, "decrease": -1}


@dataclass(frozen=True)
class MCIDRule:
    """A measure's responder threshold: relative (fraction of baseline) or absolute points."""

    relative: bool
    threshold: Fraction
    sign: int  # +1 if an increase is an improvement, -1 if a decrease is

    def classify(self, baseline: Fraction, value: Fraction) -> str:
        gain = (value - baseline) * self.sign  # > 0 means better
        needed = self.threshold * abs(baseline) if self.relative else self.threshold
        if gain > 0 and gain >= needed:
            return IMPROVED
        if gain < 0 and -gain >= needed:
            return WORSENED
        return UNCHANGED


def mcid_rule(code: str, key: str) -> MCIDRule | None:
    """The MCID rule for headline ``key`` of ``code``, or ``None`` if the measure has none."""
    mcid = get(code).mcid
    if not mcid:
        return None
    direction = mcid["improvement_direction"]
    if isinstance(direction, Mapping):  # per domain: "pain_interference.t_score" -> domain
        direction = direction.get(key.split(".", 1)[0])
        if direction is None:
            return None
    if mcid["type"] == _RELATIVE:
        if mcid["unit"] != "percent":
            raise ValueError(f"unsupported relative MCID unit {mcid['unit']!r} for {code}")
        threshold = Fraction(str(mcid["value"])) / 100
    elif mcid["type"] == _ABSOLUTE:
        threshold = Fraction(str(mcid["value"]))
    else:
        raise ValueError(f"unsupported MCID type {mcid['type']!r} for {code}")
    return MCIDRule(relative=mcid["type"] == _RELATIVE, threshold=threshold, sign=_SIGN[direction])


def compare(
    code: str, baseline_scores: Mapping[str, Any], scores: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Per headline key: ``{baseline, value, change, classification}``.

    ``change`` = value - baseline, rounded half-up to 2 decimals. ``classification`` is
    ``"improved"``, ``"worsened"``, ``"unchanged"``, or ``None`` where no MCID applies.
    """
    before = headline(code, baseline_scores)
    after = headline(code, scores)
    result: dict[str, dict[str, Any]] = {}
    for key, baseline in before.items():
        value = after[key]
        rule = mcid_rule(code, key)
        result[key] = {
            "baseline": baseline,
            "value": value,
            "change": float(round_half_up(_exact(value) - _exact(baseline), 2)),
            "classification": rule.classify(*_for_rule(code, baseline, value)) if rule else None,
        }
    return result


def is_responder(
    code: str, baseline_scores: Mapping[str, Any], scores: Mapping[str, Any], key: str | None = None
) -> bool:
    """Whether the change reaches the MCID in the improving direction.

    With ``key`` (a headline key), that measure alone. Without it, any measure of the instrument
    that has an MCID (for PEG/PHQ-9/GAD-7 there is exactly one; for PROMIS, any domain or summary
    score). Raises ``KeyError`` for an unknown key and ``ValueError`` where no MCID applies
    (STarT Back, NPS, PROMIS-29 pain intensity) — "not a responder" would be a false statement.
    """
    comparison = compare(code, baseline_scores, scores)
    if key is not None:
        classification = comparison[key]["classification"]
        if classification is None:
            raise ValueError(f"{code} {key!r} has no MCID")
        return classification == IMPROVED
    classified = [c["classification"] for c in comparison.values() if c["classification"]]
    if not classified:
        raise ValueError(f"{code} has no MCID")
    return IMPROVED in classified


def _exact(number: float) -> Fraction:
    """The decimal the float was written as (``0.1`` -> 1/10), not its binary approximation."""
    return Fraction(repr(float(number)))


def _for_rule(code: str, baseline: float, value: float) -> tuple[Fraction, Fraction]:
    if code == "peg":
        return _peg_mean(baseline), _peg_mean(value)
    return _exact(baseline), _exact(value)


def _peg_mean(reported: float) -> Fraction:
    """Exact PEG mean (k / n_items) behind a 2-decimal score; the score itself if it is not one."""
    n_items = len(spec("peg")["scoring"]["score"]["items"])
    exact = _exact(reported)
    nearest = Fraction(round(exact * n_items), n_items)
    # Rounding to 2 decimals moves a mean by at most 0.005; anything further was not produced by
    # the PEG scorer (e.g. a hand-entered 6.5), so use it as given.
    return nearest if abs(nearest - exact) <= Fraction(1, 200) else exact
