"""Score a whole response and pick out the numbers worth trending.

:func:`score_response` validates the complete response once (no prorating: see ``validation.py``)
and then calls the instrument's pure scorer on the coerced answers. :func:`headline` flattens a
scores dict to the numeric values that are charted and compared over time, with dotted keys for
nested PROMIS scores (``"pain_interference.t_score"``); which ones is the instrument spec's call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .catalogue import all_instruments, get

Scorer = Callable[[Any], dict[str, Any]]

# Validating scorers by code (each validates its input whole, then scores), for callers that
# hold raw answers and want only the scores.
SCORERS: Mapping[str, Scorer] = MappingProxyType({i.code: i.score for i in all_instruments()})


@dataclass(frozen=True)
class ScoredResponse:
    """Coerced answers (as stored) and the instrument's score dict."""

    answers_clean: dict[str, int]
    scores: dict[str, Any]


def score_response(code: str, answers: Any) -> ScoredResponse:
    """Validate ``answers`` as a whole, then score them.

    Raises ``UnknownInstrument`` for an unknown code and ``InvalidAnswers`` for a bad response.
    """
    instrument = get(code)
    answers_clean = instrument.clean(answers)
    return ScoredResponse(answers_clean=answers_clean, scores=instrument.scorer(answers_clean))


def headline_keys(code: str) -> tuple[str, ...]:
    """The dotted keys :func:`headline` returns for ``code``, in display order."""
    return get(code).headline_keys


def headline(code: str, scores: Mapping[str, Any]) -> dict[str, float]:
    """``{dotted key: float}`` of the trendable numbers in ``scores``."""
    return get(code).headline(scores)
