"""Synthetic answers for demo and benchmark data, from one latent severity per patient.

A patient's severity is a number from 0 (no symptoms, full function) to 1 (worst). Every
instrument's answers are drawn from it, so the instruments agree the way they do in a real
patient: a PHQ-9 of 4 comes with a PROMIS depression T-score near the population mean, not
69. Each item's answer sits at that position on its scale (reversed where a higher value is
better: PROMIS physical function and social roles, NPS, PSFS), with a little per-item noise.

Pure: no Django, no database; used by `manage.py demo_data` (outcomes/demo.py and
clinic/management/commands/demo_data.py) and by the scale generator (clinic/scale_data.py).
"""

import random

from . import instruments

# Where a higher answer value means better health.
HIGHER_IS_BETTER_DOMAINS = frozenset({"physical_function", "social_roles"})
HIGHER_IS_BETTER_CODES = frozenset({"nps", "psfs", "promis_gh"})
# Severity of a patient at intake by STarT Back risk group (before individual noise).
RISK_SEVERITY = {"low": 0.15, "medium": 0.4, "high": 0.65}


def severity_for(risk_group: str, rng: random.Random, spread: float = 0.06) -> float:
    """A patient's latent severity at intake: their risk group's level, give or take."""
    base = RISK_SEVERITY.get(risk_group, 0.4)
    return min(1.0, max(0.0, base + rng.uniform(-spread, spread)))


def answers_at(code: str, severity: float, rng: random.Random | None = None,
               noise: float = 0.08, *, required_only: bool = True) -> dict:
    """Valid answers to instrument `code` for a patient at `severity` (0 best, 1 worst)."""
    out = {}
    for raw in instruments.spec(code)["items"]:
        if required_only and not raw.get("required", True):
            continue
        values = sorted(o["value"] for o in raw.get("options") or [])
        if not values:
            continue
        better_high = (code in HIGHER_IS_BETTER_CODES
                       or raw.get("domain") in HIGHER_IS_BETTER_DOMAINS)
        position = 1 - severity if better_high else severity
        if rng is not None and noise:
            position += rng.gauss(0, noise)
        position = min(1.0, max(0.0, position))
        out[raw["key"]] = values[round(position * (len(values) - 1))]
    return out
