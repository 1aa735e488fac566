"""Change from baseline and responder classification against each measure's MCID.

Rules (read from the ``mcid`` objects in ``data/instruments.json``, see ``mcid.py``; an
instrument spec may give its own rule where the facts state it differently):

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
- PSFS: mean rises >= 2 improved (falls >= 2 worsened); one activity: >= 3 (``psfs.py``).
- STarT Back, NPS and the C-SSRS screen have no MCID: classification ``None``.

Boundaries are inclusive ("falls >= 5"). Arithmetic is exact (fractions of the reported decimals),
and means reported to 2 decimals (PEG, PSFS) are compared as the exact means behind them (the
spec's ``exact``), so item sum 20 -> 14 is exactly -30 % although 6.67 -> 4.67 is -29.99 %.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._common import round_half_up
from .catalogue import get
from .mcid import IMPROVED, UNCHANGED, WORSENED, MCIDRule, exact

__all__ = ["IMPROVED", "UNCHANGED", "WORSENED", "MCIDRule", "compare", "is_responder", "mcid_rule"]


def mcid_rule(code: str, key: str) -> MCIDRule | None:
    """The MCID rule for headline ``key`` of ``code``, or ``None`` if the measure has none."""
    return get(code).mcid_rule(key)


def compare(
    code: str, baseline_scores: Mapping[str, Any], scores: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Per headline key: ``{baseline, value, change, classification}``.

    ``change`` = value - baseline, rounded half-up to 2 decimals. ``classification`` is
    ``"improved"``, ``"worsened"``, ``"unchanged"``, or ``None`` where no MCID applies.
    """
    instrument = get(code)
    before = instrument.headline(baseline_scores)
    after = instrument.headline(scores)
    result: dict[str, dict[str, Any]] = {}
    for key, baseline in before.items():
        value = after[key]
        rule = instrument.mcid_rule(key)
        result[key] = {
            "baseline": baseline,
            "value": value,
            "change": float(round_half_up(exact(value) - exact(baseline), 2)),
            "classification": (rule.classify(instrument.exact(baseline), instrument.exact(value))
                               if rule else None),
        }
    return result


def is_responder(
    code: str, baseline_scores: Mapping[str, Any], scores: Mapping[str, Any], key: str | None = None
) -> bool:
    """Whether the change reaches the MCID in the improving direction.

    With ``key`` (a headline key), that measure alone. Without it, any measure of the instrument
    that has an MCID (for PEG/PHQ-9/GAD-7/PSFS there is exactly one; for PROMIS, any domain or
    summary score). Raises ``KeyError`` for an unknown key and ``ValueError`` where no MCID applies
    (STarT Back, NPS, C-SSRS, PROMIS-29 pain intensity) — "not a responder" would be a false
    statement.
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
