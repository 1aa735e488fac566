"""Columbia Suicide Severity Rating Scale, Screen Version (recent): triage after a positive
PHQ-9 item 9, asked by a clinician (by phone or in person).

Sources: Posner K, Brown GK, Stanley B, et al. The Columbia-Suicide Severity Rating Scale: initial
validity and internal consistency findings from three multisite studies with adolescents and
adults. Am J Psychiatry 2011;168(12):1266-1277; The Columbia Lighthouse Project, C-SSRS Screen
Version with triage points. Facts as vetted in ``data/instruments.json`` (``cssrs_screen``).

Items are No (0) / Yes (1). Skip logic (validated and rendered from :data:`SPEC`): q1, q2 and q6
are always asked; q3, q4 and q5 only when q2 = 1 (then all three are required; when q2 = 0 they
must be absent); q6_recent only when q6 = 1 (then required).

- ``ideation_max``: the highest item number among q1-q5 answered Yes, 0 when none (0-5).
- ``behavior_recent``: q6 = 1 and q6_recent = 1.
- ``risk_level``: ``high`` when q4 or q5 is Yes or the behaviour is recent; otherwise
  ``moderate`` when q3 or q6 is Yes; otherwise ``low`` when q1 or q2 is Yes; otherwise ``none``.
  High means immediate evaluation (Columbia triage guidelines).

No MCID: a triage screen, not a change measure. No LOINC code verified for the screener. Not in
the default link schedules: clinician-entered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .specs import InstrumentSpec
from .validation import AskedWhen

CODE = "cssrs_screen"
IDEATION_ITEMS = ("q1", "q2", "q3", "q4", "q5")  # item n = ideation level n
YES = 1


def _yes(answers: Mapping[str, int], key: str) -> bool:
    return answers.get(key) == YES


def _score(answers: Mapping[str, int]) -> dict[str, Any]:
    """``{risk_level, ideation_max, behavior_recent}`` of validated answers."""
    ideation_max = max((n for n, key in enumerate(IDEATION_ITEMS, start=1) if _yes(answers, key)),
                       default=0)
    behavior_recent = _yes(answers, "q6") and _yes(answers, "q6_recent")
    if _yes(answers, "q4") or _yes(answers, "q5") or behavior_recent:
        risk_level = "high"
    elif _yes(answers, "q3") or _yes(answers, "q6"):
        risk_level = "moderate"
    elif _yes(answers, "q1") or _yes(answers, "q2"):
        risk_level = "low"
    else:
        risk_level = "none"
    return {"risk_level": risk_level, "ideation_max": ideation_max,
            "behavior_recent": behavior_recent}


def _summary(scores: Mapping[str, Any]) -> str:
    recent = ", recent suicidal behaviour" if scores["behavior_recent"] else ""
    return f"{scores['risk_level']} risk (ideation {scores['ideation_max']} of 5{recent})"


SPEC = InstrumentSpec(
    code=CODE,
    label="C-SSRS screen: suicide risk",
    short_label="C-SSRS",
    scorer=_score,
    headline_keys=("ideation_max",),
    primary_key="ideation_max",
    summary=_summary,
    display_range=(0, 5),
    bands={"ideation_max": "risk_level"},
    asked_when={
        "q3": AskedWhen("q2", YES),
        "q4": AskedWhen("q2", YES),
        "q5": AskedWhen("q2", YES),
        "q6_recent": AskedWhen("q6", YES),
    },
)
score = SPEC.score  # validates the whole response (skip logic included), then scores it
