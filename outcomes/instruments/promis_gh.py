"""PROMIS Scale v1.2 - Global Health (PROMIS-10) scoring: GPH and GMH summary scores.

Sources: Hays RD, Bjorner JB, Revicki DA, et al. Development of physical and mental health summary
scores from the PROMIS global items. Qual Life Res 2009;18(7):873-880; raw -> T/SE tables from the
PROMIS Global scoring instructions (Stanford CHOIR GlobalHealthScore.java, awell-score promis_10;
identical). Facts as vetted in ``data/instruments.json`` (``promis_gh``).

GPH raw = Global03 + Global06 + Global07rc + Global08; GMH raw = Global02 + Global04 + Global05 +
Global10 (each 4-20) -> T-score/SE table. Global07 (pain, stored 0-10) is recoded for GPH:
0->5, 1-3->4, 4-6->3, 7-9->2, 10->1 (the item's ``recode_for_gph`` map). v1.2 stores Global08
and Global10 already reversed (best = 5), so they are summed as stored. Global01 and Global09 are
not summed. No cut-offs; higher is better for both. Responder: T-score up >= 3.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._common import t_score, t_score_summary
from .registry import spec
from .specs import InstrumentSpec

CODE = "promis_gh"
SUMMARY_SCORES = ("gph", "gmh")


def _score(answers: Mapping[str, int]) -> dict[str, Any]:
    """``{gph: {raw, t_score, se}, gmh: {raw, t_score, se}}`` of validated answers."""
    data = spec(CODE)
    item_scores = summed_values(answers, data)
    result = {}
    for name in SUMMARY_SCORES:
        rule = data["scoring"][name]
        raw = sum(item_scores[key] for key in rule["items"])
        result[name] = t_score(rule["t_score_table"], raw)
    return result


def summed_values(
    answers: Mapping[str, int], data: Mapping[str, Any] | None = None
) -> dict[str, int]:
    """Values that enter the sums: stored values, or the item's ``recode_for_gph`` (Global07rc)."""
    data = data or spec(CODE)
    values = {}
    for item in data["items"]:
        stored = answers[item["key"]]
        recode = item.get("recode_for_gph")
        values[item["key"]] = recode[str(stored)] if recode else stored
    return values


SPEC = InstrumentSpec(
    code=CODE,
    label="PROMIS Global Health",
    short_label="PROMIS Global Health",
    scorer=_score,
    headline_keys=tuple(f"{name}.t_score" for name in SUMMARY_SCORES),
    primary_key="gph.t_score",
    summary=t_score_summary,
    display_range=(20, 80),
)
score = SPEC.score  # validates the whole response, then scores: {gph, gmh}
