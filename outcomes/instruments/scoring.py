"""Score a whole response and pick out the numbers worth trending.

:func:`score_response` validates the complete response first (no prorating: see
``validation.py``) and then dispatches to the instrument's pure scorer. :func:`headline` flattens a
scores dict to the numeric values that are charted and compared over time, with dotted keys for
nested PROMIS scores (``"pain_interference.t_score"``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import gad7, nps, peg, phq9, promis29, promis_gh, startback
from .registry import get, spec
from .validation import clean

Scorer = Callable[[Mapping[str, Any]], dict[str, Any]]

SCORERS: Mapping[str, Scorer] = {
    startback.CODE: startback.score,
    peg.CODE: peg.score,
    phq9.CODE: phq9.score,
    gad7.CODE: gad7.score,
    promis29.CODE: promis29.score,
    promis_gh.CODE: promis_gh.score,
    nps.CODE: nps.score,
}


@dataclass(frozen=True)
class ScoredResponse:
    """Coerced answers (as stored) and the instrument's score dict."""

    answers_clean: dict[str, int]
    scores: dict[str, Any]


def score_response(code: str, answers: Any) -> ScoredResponse:
    """Validate ``answers`` as a whole, then score them.

    Raises ``UnknownInstrument`` for an unknown code and ``InvalidAnswers`` for a bad response.
    """
    get(code)
    answers_clean = clean(code, answers)
    return ScoredResponse(answers_clean=answers_clean, scores=SCORERS[code](answers_clean))


def headline_keys(code: str) -> tuple[str, ...]:
    """The dotted keys :func:`headline` returns for ``code``, in display order."""
    get(code)
    if code == promis29.CODE:
        # T-score for each 4-item domain (data-file order), then raw pain intensity (0-10).
        domains = tuple(f"{name}.t_score" for name in spec(code)["domains"])
        return (*domains, "pain_intensity")
    if code == promis_gh.CODE:
        return tuple(f"{name}.t_score" for name in promis_gh.SUMMARY_SCORES)
    # Single-number instruments; STarT Back's risk group and the category labels are not numbers.
    return {
        startback.CODE: ("total", "psychosocial"),
        peg.CODE: ("score",),
        phq9.CODE: ("total",),
        gad7.CODE: ("total",),
        nps.CODE: ("score",),
    }[code]


def headline(code: str, scores: Mapping[str, Any]) -> dict[str, float]:
    """``{dotted key: float}`` of the trendable numbers in ``scores``."""
    return {key: float(_resolve(scores, key)) for key in headline_keys(code)}


def _resolve(scores: Mapping[str, Any], dotted: str) -> Any:
    value: Any = scores
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise ValueError(f"scores have no {dotted!r}")
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"scores {dotted!r} is not a number: {value!r}")
    return value
