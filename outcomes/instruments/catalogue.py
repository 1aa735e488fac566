"""The registry of instrument specs: one module per instrument code of the facts file.

``data/instruments.json`` lists the instruments that exist, in the program's display order; the
instrument with code ``x`` is described by ``outcomes/instruments/x.py``, whose ``SPEC`` this
module collects. Adding an instrument is therefore its facts plus its module, nothing else: every
other place (API, forms, trends, metrics, FHIR, the patient page) iterates :func:`all_instruments`.
"""

from __future__ import annotations

from importlib import import_module
from types import MappingProxyType
from typing import Any

from .registry import CODES, UnknownInstrument
from .specs import InstrumentSpec


def _collect() -> MappingProxyType[str, InstrumentSpec]:
    specs = {}
    for code in CODES:
        # Discovery by the facts file's codes (not a static import list) is what keeps a new
        # instrument to its two files. A code without a module is a packaging error: fail loudly.
        module = import_module(f"{__package__}.{code}")
        spec = getattr(module, "SPEC", None)
        if not isinstance(spec, InstrumentSpec) or spec.code != code:
            raise RuntimeError(f"outcomes/instruments/{code}.py must export SPEC for {code!r}")
        specs[code] = spec
    return MappingProxyType(specs)


_SPECS = _collect()


def get(code: Any) -> InstrumentSpec:
    """The instrument for ``code``; raises :class:`UnknownInstrument` for anything else."""
    try:
        return _SPECS[code]
    except (KeyError, TypeError):  # TypeError: unhashable code such as a list
        raise UnknownInstrument(code) from None


def all_instruments() -> list[InstrumentSpec]:
    """Every instrument, in the facts file's (display) order."""
    return list(_SPECS.values())


def validate(code: str, answers: Any) -> dict[str, list[str]]:
    """Per-item errors for ``answers`` to instrument ``code`` (empty dict when valid)."""
    return get(code).validate(answers)


def clean(code: str, answers: Any) -> dict[str, int]:
    """Coerced answers (item order, unanswered optional items left out), or ``InvalidAnswers``."""
    return get(code).clean(answers)
