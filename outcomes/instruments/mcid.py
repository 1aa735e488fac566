"""Responder thresholds (MCID) as rules, and the exact numbers they are applied to.

Most instruments publish their MCID in ``data/instruments.json`` in one shape
(``{type, value, unit, improvement_direction}``); :func:`rule_from_facts` reads it. An instrument
whose facts say it differently (PSFS: a mean and a per-activity threshold) gives its own rule in
its spec. Boundaries are inclusive ("falls >= 5"), and arithmetic is exact (fractions of the
reported decimals), so 53.3 -> 50.3 is exactly 3 T points, not 2.9999999999999964.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from .registry import Instrument

IMPROVED = "improved"
WORSENED = "worsened"
UNCHANGED = "unchanged"

_RELATIVE = "relative_change_from_baseline"
_ABSOLUTE = "absolute_change_from_baseline"
SIGN = {"increase": 1, "decrease": -1, "higher_is_better": 1, "higher_is_worse": -1}


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


def rule_from_facts(instrument: Instrument, key: str) -> MCIDRule | None:
    """The MCID rule for headline ``key`` from the facts' ``mcid`` object, or ``None``."""
    mcid = instrument.mcid
    if not mcid:
        return None
    direction = mcid["improvement_direction"]
    if isinstance(direction, Mapping):  # per domain: "pain_interference.t_score" -> domain
        direction = direction.get(key.split(".", 1)[0])
        if direction is None:
            return None
    if mcid["type"] == _RELATIVE:
        if mcid["unit"] != "percent":
            raise ValueError(f"unsupported relative MCID unit {mcid['unit']!r} for {instrument.code}")
        threshold = Fraction(str(mcid["value"])) / 100
    elif mcid["type"] == _ABSOLUTE:
        threshold = Fraction(str(mcid["value"]))
    else:
        raise ValueError(f"unsupported MCID type {mcid['type']!r} for {instrument.code}")
    return MCIDRule(relative=mcid["type"] == _RELATIVE, threshold=threshold, sign=SIGN[direction])


def exact(number: float) -> Fraction:
    """The decimal the float was written as (``0.1`` -> 1/10), not its binary approximation."""
    return Fraction(repr(float(number)))


def exact_mean(reported: float, max_items: int) -> Fraction:
    """The exact mean of at most ``max_items`` integers behind a 2-decimal score.

    Comparing rounded means would misclassify exact changes (PEG item sum 20 -> 14 is exactly
    -30 %, but 6.67 -> 4.67 is -29.99 %), so rules apply to the mean recovered from the reported
    score: the nearest fraction with a denominator up to ``max_items``. Rounding to 2 decimals
    moves a mean by at most 0.005; anything further was not produced by a scorer (a hand-entered
    6.6), so it is used as given.
    """
    given = exact(reported)
    nearest = given.limit_denominator(max_items)
    return nearest if abs(nearest - given) <= Fraction(1, 200) else given
