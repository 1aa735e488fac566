"""Small helpers shared by the per-instrument scorers (bands, table look-ups, rounding)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any


def band(value: int, bands: Iterable[Mapping[str, Any]]) -> str:
    """The ``value`` of the first ``{value, min, max}`` band with ``min <= value <= max``."""
    for candidate in bands:
        if candidate["min"] <= value <= candidate["max"]:
            return candidate["value"]
    raise ValueError(f"{value} is outside every band")


def sum_items(answers: Mapping[str, int], keys: Iterable[str]) -> int:
    """Sum of the stored values of ``keys``."""
    return sum(answers[key] for key in keys)


def t_score(table: Mapping[str, Mapping[str, float]], raw: int) -> dict[str, Any]:
    """``{raw, t_score, se}`` from a PROMIS raw-sum table keyed by the raw sum as a string."""
    row = table[str(raw)]
    return {"raw": raw, "t_score": float(row["t_score"]), "se": float(row["se"])}


def round_half_up(value: Fraction | Decimal | int, places: int) -> Decimal:
    """Round half away from zero (the conventional "round half up" for scores), exactly.

    Python's ``round`` uses banker's rounding on binary floats (``round(2.675, 2) == 2.67``),
    which is not what a clinician reading "round half up" expects; exact fractions avoid that.
    """
    scaled = Fraction(value) * 10**places
    magnitude = math.floor(abs(scaled) + Fraction(1, 2))
    signed = -magnitude if scaled < 0 else magnitude
    return Decimal(signed).scaleb(-places)


def t_score_summary(scores: Mapping[str, Any]) -> str:
    """'pain interference T 62.5, ..., pain intensity 7' for PROMIS score dicts."""
    parts = [f"{key.replace('_', ' ')} T {value['t_score']}" for key, value in scores.items()
             if isinstance(value, Mapping) and "t_score" in value]
    if "pain_intensity" in scores:
        parts.append(f"pain intensity {scores['pain_intensity']}")
    return ", ".join(parts)
