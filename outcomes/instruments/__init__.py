"""Pure-Python instrument engine for the IPM outcome measures (no Django, no database).

Instruments: STarT Back, PEG, PHQ-9, GAD-7, PROMIS-29 v2.1, PROMIS Global Health v1.2, NPS,
C-SSRS screen, PSFS. Every scoring fact is read from ``data/instruments.json`` (sources in
``data/README.md``); each instrument's module (``<code>.py``) exports one ``SPEC``
(:class:`InstrumentSpec`) with everything the program does with it, and :func:`get` /
:func:`all_instruments` return those specs.

Typical use::

    from outcomes.instruments import score_response, compare, get

    scored = score_response("phq9", {"q1": "2", ...})   # validates whole, then scores
    scored.scores   # {"total": 11, "severity": "moderate", "item9_positive": False}
    get("phq9").summary(scored.scores)   # "total 11 (moderate)"
"""

from .catalogue import all_instruments, clean, get, validate
from .change import compare, is_responder, mcid_rule
from .registry import CODES, Coding, Instrument, Item, LoincCodes, Option, UnknownInstrument, spec
from .scoring import ScoredResponse, headline, headline_keys, score_response
from .specs import InstrumentSpec, Measure, SafetyFlag, TrendSeries
from .validation import AskedWhen, InvalidAnswers

__all__ = [
    "CODES",
    "AskedWhen",
    "Coding",
    "Instrument",
    "InstrumentSpec",
    "InvalidAnswers",
    "Item",
    "LoincCodes",
    "Measure",
    "Option",
    "SafetyFlag",
    "ScoredResponse",
    "TrendSeries",
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
