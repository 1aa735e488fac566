"""Which billing codes a patient's month meets (pure rules, no ORM; SPEC §9).

Rules (from `care/data/billing_codes.json`, sources CMS MLN909432 and MLN909188):

- A month's minutes are the care-manager contact minutes plus signed visit-note minutes of
  that patient in that calendar month (`care.minutes`).
- Within one *family* a month bills one *base* code: a code for this month's kind (the
  patient's ``first`` care-management month, or a ``subsequent`` one) when its threshold is
  met; otherwise a code for ``any`` month (e.g. G2214 "only when 99492/99493 are not met").
  Among codes of the same kind the one with the highest threshold met wins.
- *Add-on* units extend the chosen base code: the minutes beyond what the base covers
  (`covers_minutes`, else its threshold) give a first unit at `min_additional_minutes` and one
  more for each further whole `unit_minutes` (the CPT "more than half" time rule: 99494 is
  billed at 16 extra minutes, a second unit at 46), at most `max_units`.
- Families are alternatives (collaborative care, general BHI, chronic care management): every
  family whose thresholds are met is listed and the program chooses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

FIRST, SUBSEQUENT, ANY = "first", "subsequent", "any"


@dataclass(frozen=True)
class CodeRule:
    code: str
    family: str
    month: str = ""  # first | subsequent | any; "" for an add-on
    min_minutes: int | None = None
    covers_minutes: int | None = None
    add_on_to: tuple[str, ...] = ()
    min_additional_minutes: int | None = None
    unit_minutes: int | None = None
    max_units: int | None = None
    description: str = ""

    @property
    def is_add_on(self) -> bool:
        return not self.month


@dataclass(frozen=True)
class BilledCode:
    code: str
    units: int = 1

    def __str__(self) -> str:
        return self.code if self.units == 1 else f"{self.code} x{self.units}"


@dataclass(frozen=True)
class FamilyMet:
    family: str
    codes: tuple[BilledCode, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        return " + ".join(str(c) for c in self.codes)

    def as_dict(self) -> dict:
        return {"family": self.family,
                "codes": [{"code": c.code, "units": c.units} for c in self.codes]}


def add_on_units(rule: CodeRule, extra_minutes: int) -> int:
    """Units of an add-on for `extra_minutes` beyond what its base code covers."""
    if extra_minutes < (rule.min_additional_minutes or 0) or not rule.unit_minutes:
        return 0
    units = 1 + (extra_minutes - (rule.min_additional_minutes or 0)) // rule.unit_minutes
    return min(units, rule.max_units) if rule.max_units else units


def _base_for(rules: list[CodeRule], minutes: int, first_month: bool) -> CodeRule | None:
    kind = FIRST if first_month else SUBSEQUENT
    for wanted in (kind, ANY):
        met = [r for r in rules if r.month == wanted and r.min_minutes is not None
               and minutes >= r.min_minutes]
        if met:
            return max(met, key=lambda r: (r.min_minutes, r.code))
    return None


def codes_met(minutes: int, *, first_month: bool, rules: Iterable[CodeRule]) -> list[FamilyMet]:
    """Every family whose thresholds the month meets, each with its base code and add-on
    units, in family order. An empty list when nothing is met."""
    by_family: dict[str, list[CodeRule]] = {}
    for rule in rules:
        by_family.setdefault(rule.family, []).append(rule)
    out = []
    for family in sorted(by_family):
        family_rules = by_family[family]
        base = _base_for([r for r in family_rules if not r.is_add_on], minutes, first_month)
        if base is None:
            continue
        billed = [BilledCode(base.code)]
        covered = base.covers_minutes if base.covers_minutes is not None else base.min_minutes
        for add_on in sorted((r for r in family_rules if r.is_add_on and base.code in r.add_on_to),
                             key=lambda r: r.code):
            units = add_on_units(add_on, minutes - covered)
            if units:
                billed.append(BilledCode(add_on.code, units))
        out.append(FamilyMet(family, tuple(billed)))
    return out
