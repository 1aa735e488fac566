"""Keele STarT Back Screening Tool (9-item) scoring.

Sources: Hill JC, Dunn KM, Lewis M, et al. A primary care back pain screening tool: identifying
patient subgroups for initial treatment. Arthritis Rheum 2008;59(5):632-641; Keele University,
"Using and Scoring the Keele STarT Back Screening Tool" (keele.ac.uk/sbst). Facts as vetted in
``data/instruments.json`` (``startback``).

Item points: q1-q8 Agree = 1, Disagree = 0; q9 (bothersomeness, 0-4) scores 1 only for
"Very much" (3) or "Extremely" (4). ``total`` = points of q1-q9 (0-9); ``psychosocial`` = points
of q5-q9 (0-5). Cut-offs: ``low`` if total <= 3; otherwise ``medium`` if psychosocial <= 3 and
``high`` if psychosocial >= 4. No MCID: it is a stratification tool, not an outcome measure.

Item points, subscale item lists and the risk rules are all read from the data file; the risk
rules are published there as small expressions (``"total >= 4 and psychosocial <= 3"``) which are
parsed by a tiny comparison-only evaluator, never ``eval``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from .registry import spec
from .specs import InstrumentSpec

CODE = "startback"

_COMPARISONS: dict[str, Callable[[int, int], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
    "==": operator.eq,
}
_CLAUSE = re.compile(r"\s*([a-z_]+)\s*(<=|>=|==|<|>)\s*(\d+)\s*")


def _score(answers: Mapping[str, int]) -> dict[str, Any]:
    """``{total, psychosocial, risk_group}`` for a complete (validated) STarT Back response."""
    data = spec(CODE)
    points = item_points(answers, data)
    subscores = {
        "total": sum(points[key] for key in data["scoring"]["total"]["items"]),
        "psychosocial": sum(points[key] for key in data["scoring"]["psychosocial"]["items"]),
    }
    return {**subscores, "risk_group": risk_group(**subscores)}


def item_points(
    answers: Mapping[str, int], data: Mapping[str, Any] | None = None
) -> dict[str, int]:
    """Points per item: each item's ``points`` map (stored value -> points) from the JSON."""
    data = data or spec(CODE)
    return {item["key"]: item["points"][str(answers[item["key"]])] for item in data["items"]}


def risk_group(total: int, psychosocial: int) -> str:
    """The first published risk rule that holds for these subscores."""
    subscores = {"total": total, "psychosocial": psychosocial}
    for rule in spec(CODE)["scoring"]["risk_group"]:
        if _rule_holds(rule["rule"], subscores):
            return rule["value"]
    raise ValueError(f"no STarT Back risk rule matches total={total}, psychosocial={psychosocial}")


def _rule_holds(rule: str, subscores: Mapping[str, int]) -> bool:
    """Evaluate ``"a <= 3 and b >= 4 (comment)"``: comparisons joined by ``and``."""
    expression = re.sub(r"\(.*?\)", "", rule)  # drop explanatory parentheticals
    for clause in expression.split(" and "):
        match = _CLAUSE.fullmatch(clause)
        if not match:
            raise ValueError(f"unparseable STarT Back risk rule: {rule!r}")
        name, op, bound = match.groups()
        if not _COMPARISONS[op](subscores[name], int(bound)):
            return False
    return True


SPEC = InstrumentSpec(
    code=CODE,
    label="STarT Back",
    short_label="STarT Back",
    scorer=_score,
    # The risk group is a label, not a number: the subscores are what is trended.
    headline_keys=("total", "psychosocial"),
    primary_key="total",
    summary=lambda s: (f"total {s['total']}, psychosocial {s['psychosocial']} "
                       f"({s['risk_group']} risk)"),
    display_range=(0, 9),
    bands={"total": "risk_group"},
    intake="screen",  # every intake stratifies with it (SPEC §3.1)
)
score = SPEC.score  # validates the whole response, then scores: {total, psychosocial, risk_group}
