"""Whole-response validation of instrument answers.

Every instrument is scored from complete responses only: the vetted facts (``data/README.md``)
give no prorating rule for any of them, so a missing required item is an error, never imputed.
The only optional item is PHQ-9 ``q10`` (difficulty), which is never scored.

Answers arrive from JSON clients (ints) and HTML form posts (strings), so values are coerced:
``int`` as is, a string of ASCII digits (surrounding whitespace allowed) to its int, and a float
with no fractional part (``3.0``, as some JSON encoders send) to its int. Everything else —
``bool`` (a Python ``int`` subclass that must never pass as 0/1), fractional floats, negative or
non-digit strings, ``Decimal``, lists — is rejected. ``None``, a missing key and a blank string all
mean "not answered".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .registry import Instrument, get

UNKNOWN_ITEM = "Unknown item."
REQUIRED = "This item is required."
NOT_A_MAPPING = "Answers must be an object mapping item keys to answer values."
NON_FIELD_ERRORS = "non_field_errors"

_DIGITS = re.compile(r"[0-9]{1,9}")  # 9 digits is far above any option; avoids huge-int parsing
_MISSING = object()


class InvalidAnswers(Exception):
    """A response failed validation; ``errors`` maps item key -> list of messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(f"Invalid answers: {errors}")


def not_allowed_message(allowed: tuple[int, ...]) -> str:
    """Message for a value that is not one of the item's options."""
    return "Select a valid choice. Allowed values: " + ", ".join(map(str, allowed)) + "."


def validate(code: str, answers: Any) -> dict[str, list[str]]:
    """Per-item errors for ``answers`` to instrument ``code`` (empty dict when valid).

    Raises :class:`~outcomes.instruments.registry.UnknownInstrument` for an unknown code.
    """
    return _check(get(code), answers)[1]


def clean(code: str, answers: Any) -> dict[str, int]:
    """Coerced answers, or raise :class:`InvalidAnswers` with the per-item errors.

    Answers come back in item order; unanswered optional items are left out.
    """
    cleaned, errors = _check(get(code), answers)
    if errors:
        raise InvalidAnswers(errors)
    return cleaned


def coerce_value(raw: Any) -> int | None:
    """The integer an answer value stands for, or ``None`` when its type/format is unacceptable."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return int(raw)
    if isinstance(raw, float):
        return int(raw) if raw.is_integer() else None  # is_integer() is False for nan/inf
    if isinstance(raw, str):
        text = raw.strip()
        return int(text) if _DIGITS.fullmatch(text) else None
    return None


def _is_blank(raw: Any) -> bool:
    return raw is _MISSING or raw is None or (isinstance(raw, str) and not raw.strip())


def _check(instrument: Instrument, answers: Any) -> tuple[dict[str, int], dict[str, list[str]]]:
    if not isinstance(answers, Mapping):
        return {}, {NON_FIELD_ERRORS: [NOT_A_MAPPING]}
    known = {item.key for item in instrument.items}
    errors: dict[str, list[str]] = {str(key): [UNKNOWN_ITEM] for key in answers if key not in known}
    cleaned: dict[str, int] = {}
    for item in instrument.items:
        raw = answers.get(item.key, _MISSING)
        if _is_blank(raw):
            if item.required:
                errors[item.key] = [REQUIRED]
            continue
        value = coerce_value(raw)
        if value is None or value not in item.allowed_values:
            errors[item.key] = [not_allowed_message(item.allowed_values)]
            continue
        cleaned[item.key] = value
    return cleaned, errors
