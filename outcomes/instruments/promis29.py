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

from ._common import sum_items, t_score, t_score_summary
from .registry import spec
from .specs import InstrumentSpec, Measure, TrendSeries

CODE = "promis29"
PAIN_INTENSITY_ITEM = "Global07"  # JSON scoring.pain_intensity: "Global07 raw value 0-10"


def _score(answers: Mapping[str, int]) -> dict[str, Any]:
    """``{<domain>: {raw, t_score, se}, ..., pain_intensity: int}`` in ``score_keys`` order."""
    domains = spec(CODE)["domains"]
    scores: dict[str, Any] = {
        name: t_score(domain["t_score_table"], sum_items(answers, domain["items"]))
        for name, domain in domains.items()
    }
    scores["pain_intensity"] = answers[PAIN_INTENSITY_ITEM]
    return {key: scores[key] for key in spec(CODE)["score_keys"]}


SPEC = InstrumentSpec(
    code=CODE,
    label="PROMIS-29 T-scores",
    short_label="PROMIS-29",
    scorer=_score,
    # T-score for each 4-item domain (data-file order), then raw pain intensity (0-10).
    headline_keys=(*(f"{name}.t_score" for name in spec(CODE)["domains"]), "pain_intensity"),
    primary_key="pain_interference.t_score",
    summary=t_score_summary,
    display_range=(20, 80),
    trend=(
        TrendSeries("pain_interference.t_score", "Pain interference"),
        TrendSeries("physical_function.t_score", "Physical function"),
        TrendSeries("depression.t_score", "Depression", mcid_band=False),
        TrendSeries("anxiety.t_score", "Anxiety", mcid_band=False),
        TrendSeries("fatigue.t_score", "Fatigue", mcid_band=False),
        TrendSeries("sleep_disturbance.t_score", "Sleep disturbance", mcid_band=False),
        TrendSeries("social_roles.t_score", "Social roles", mcid_band=False),
    ),
    # T-scores have 1 decimal: x10 makes them integers for the SQL MCID test.
    measures=(
        Measure("promis_pain_interference", "PROMIS pain interference",
                "pain_interference.t_score", scale=10),
        Measure("promis_physical_function", "PROMIS physical function",
                "physical_function.t_score", scale=10),
    ),
    intake="baseline",
)
score = SPEC.score  # validates the whole response, then scores every domain
