"""Pure-Python instrument engine for the IPM outcome measures (no Django, no database).

Instruments: STarT Back, PEG, PHQ-9, GAD-7, PROMIS-29 v2.1, PROMIS Global Health v1.2, NPS.
Every scoring fact is read from ``data/instruments.json`` (sources in ``data/README.md``).

Typical use::

    from outcomes.instruments import score_response, compare

    scored = score_response("phq9", {"q1": "2", ...})   # validates whole, then scores
    scored.scores   # {"total": 11, "severity": "moderate", "item9_positive": False}
"""

from .change import compare, is_responder, mcid_rule
from .registry import (
    CODES,
    Coding,
    Instrument,
    Item,
    LoincCodes,
    Option,
    UnknownInstrument,
    all_instruments,
    get,
    spec,
)
from .scoring import ScoredResponse, headline, headline_keys, score_response
from .validation import InvalidAnswers, clean, validate

__all__ = [
    "CODES",
    "Coding",
    "Instrument",
    "InvalidAnswers",
    "Item",
    "LoincCodes",
    "Option",
    "ScoredResponse",
    "UnknownInstrument",
    "all_instruments",
    "clean",
    "compare",
    "get",
    "headline",
    "headline_keys",
    "is_responder",
    "mcid_rule",
    "score_response",
    "spec",
    "validate",
]
