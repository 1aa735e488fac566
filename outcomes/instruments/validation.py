"""Whole-response validation of instrument answers.

Every instrument is scored from complete responses only: the vetted facts (``data/README.md``)
give no prorating rule for any of them, so a missing required item is an error, never imputed.
Optional items: PHQ-9 ``q10`` (difficulty, never scored) and PSFS ``a2``-``a5``.

Skip logic: an item may be asked only when another item has a given answer (C-SSRS q3-q5 when
q2 = 1). The instrument's spec says so with :class:`AskedWhen`; such an item is required when it
applies and must be absent when it does not (an answer there is an error on that item). When the
controlling item itself has no valid answer, only the controlling item is reported.

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
from dataclasses import dataclass
from typing import Any

from .registry import Instrument

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


@dataclass(frozen=True)
class AskedWhen:
    """Skip logic: the item is asked only when item ``item`` was answered ``equals``."""

    item: str
    equals: int

    def applies(self, answers: Mapping[str, Any]) -> bool | None:
        """Whether the item is asked, given the coerced answers so far; ``None`` while the
        controlling item has no valid answer (nothing can be said yet)."""
        value = answers.get(self.item)
        return None if value is None else value == self.equals

    def as_dict(self) -> dict[str, Any]:
        return {"item": self.item, "equals": self.equals}


def not_allowed_message(allowed: tuple[int, ...]) -> str:
    """Message for a value that is not one of the item's options."""
    return "Select a valid choice. Allowed values: " + ", ".join(map(str, allowed)) + "."


def not_asked_message(condition: AskedWhen, instrument: Instrument) -> str:
    """Message for an answer to an item the skip logic leaves out."""
    label = next((o.label for o in instrument.item(condition.item).options
                  if o.value == condition.equals), str(condition.equals))
    return (f"Leave this unanswered: it is asked only when {condition.item} is "
            f"{label} ({condition.equals}).")


def check(
    instrument: Instrument, answers: Any, asked_when: Mapping[str, AskedWhen] | None = None
) -> tuple[dict[str, int], dict[str, list[str]]]:
    """``(coerced answers in item order, per-item errors)``; valid when the errors are empty.

    Unanswered optional items (and items the skip logic leaves out) are not in the answers.
    """
    cleaned, errors = _check(instrument, answers)
    if not asked_when or not isinstance(answers, Mapping):
        return cleaned, errors
    for key, condition in asked_when.items():
        applies = condition.applies(cleaned)
        if applies is None or key in errors:
            continue
        if applies and key not in cleaned:
            errors[key] = [REQUIRED]
        elif not applies and key in cleaned:
            errors[key] = [not_asked_message(condition, instrument)]
    if errors:
        cleaned = {key: value for key, value in cleaned.items() if key not in errors}
    return cleaned, errors


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
