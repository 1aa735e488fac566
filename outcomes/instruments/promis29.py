"""PROMIS-29 Profile v2.1 scoring (seven 4-item short forms + pain intensity).

Sources: HealthMeasures PROMIS Adult Profile Scoring Manual raw-sum -> T-score/SE tables, as two
agreeing public transcriptions (rettopnivek/camrprojects; CRAMPP2 PROMIS-29+2 v2.1 script) and
reproduced by IRT recomputation from the official item parameters (Stanford CHOIR choir-d); item
IDs and stored values from the PROMIS item banks. Facts as vetted in ``data/instruments.json``
(``promis29``); see ``data/README.md`` for the caveats (Depression raw 20 SE).

Each domain's ``raw`` = sum of its four stored item values (4-20). Stored values already include
the reverse keying of Physical Function, Sleep109, Sleep116 and the social-roles items, so they are
summed as stored, never reversed again. ``t_score``/``se`` are looked up in that domain's table.
No cut-offs: T-scores are reported as is (mean 50, SD 10 in the reference population).
``pain_intensity`` = Global07 (0-10), reported raw. Responder: >= 3 T points in the domain's
improving direction (physical_function and social_roles up; the others down).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._common import sum_items, t_score
from .registry import spec
from .validation import clean

CODE = "promis29"
PAIN_INTENSITY_ITEM = "Global07"  # JSON scoring.pain_intensity: "Global07 raw value 0-10"


def score(answers: Mapping[str, Any]) -> dict[str, Any]:
    """``{<domain>: {raw, t_score, se}, ..., pain_intensity: int}`` in ``score_keys`` order."""
    answers = clean(CODE, answers)
    domains = spec(CODE)["domains"]
    scores: dict[str, Any] = {
        name: t_score(domain["t_score_table"], sum_items(answers, domain["items"]))
        for name, domain in domains.items()
    }
    scores["pain_intensity"] = answers[PAIN_INTENSITY_ITEM]
    return {key: scores[key] for key in spec(CODE)["score_keys"]}
