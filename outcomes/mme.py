"""Daily morphine milligram equivalents (MME) of an opioid regimen — pure Python, ``Decimal``.

Source: Dowell D, Ragan KR, Jones CM, Baldwin GT, Chou R. CDC Clinical Practice Guideline for
Prescribing Opioids for Pain — United States, 2022. MMWR Recomm Rep 2022;71(No. RR-3):1-95,
Table ("Morphine milligram equivalent doses for commonly prescribed opioids for pain
management"). Conversion factors, per mg/day unless stated:

    codeine 0.15 | fentanyl transdermal 2.4 (per mcg/hr) | hydrocodone 1.0 | hydromorphone 5.0
    methadone 4.7 | morphine 1.0 | oxycodone 1.5 | oxymorphone 3.0 | tapentadol 0.4
    tramadol 0.2

(Checked against two reproductions of the 2022 table — the globalrph.com MME calculator and a
Medscape CME page — which agree. Older tables, e.g. Von Korff et al. 2008 which the CDC table
adapts, give hydromorphone 4 and a lower or dose-tiered methadone factor: do not mix them.)
The table's own worked examples: hydrocodone 5 mg four times a day = 20 MME/day; extended-release
oxycodone 10 mg twice a day = 30 MME/day.

Buprenorphine is not in the CDC table: a partial mu-agonist with a ceiling on respiratory
depression, its MME is not comparable with full agonists, so :func:`daily_mme` returns ``None``
for it (it is listed in :data:`OPIOIDS` so regimens containing it can be recorded) and it adds
nothing to :func:`total_mme`.

The guideline's cautions apply to every number here: MME is a dose-risk screen, not an
equianalgesic conversion — do not use it to convert one opioid to another.

Results are rounded half-up to 1 decimal. :func:`total_mme` sums the unrounded line values and
rounds once, so the total does not depend on how the regimen is split into lines.

Input is parsed here too, and only here: :func:`parse_mme` for an MME/day typed in (intake,
medication review total: 0-100000, rounded half-up to 1 decimal like every MME) and
:func:`parse_amount` for a line's dose and doses a day (above 0, 2 decimals as stored). Forms,
services and the API hand raw values to these and show their message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, NamedTuple

from patients.flags import MME_FLAG_THRESHOLDS

Number = Decimal | int | float | str

MG = "mg"
MCG_PER_HOUR = "mcg/h"
ONE_DECIMAL = Decimal("0.1")
TWO_DECIMALS = Decimal("0.01")
MAX_AMOUNT = Decimal(100_000)  # above any real daily dose; keeps typos out of the flags

# The program's dose-risk screening flags (>= 50 and >= 90 MME/day): a patient fact, kept
# with the patient flags (patients/flags.py says where the levels come from).
FLAG_THRESHOLDS: tuple[tuple[str, Decimal], ...] = MME_FLAG_THRESHOLDS

BUPRENORPHINE_NOTE = (
    "Buprenorphine is not converted to MME: it is not in the CDC 2022 conversion table (partial "
    "agonist; MME thresholds for full agonists do not apply). Record it, but review separately."
)


class Opioid(NamedTuple):
    """``(display, factor or None, unit)``: ``factor`` x daily amount in ``unit`` = MME/day."""

    display: str
    factor: Decimal | None
    unit: str


class UnknownOpioid(KeyError):
    """Raised for a drug code not in :data:`OPIOIDS`."""


OPIOIDS: dict[str, Opioid] = {
    "codeine": Opioid("Codeine", Decimal("0.15"), MG),
    "fentanyl_transdermal": Opioid("Fentanyl transdermal (patch)", Decimal("2.4"), MCG_PER_HOUR),
    "hydrocodone": Opioid("Hydrocodone", Decimal("1"), MG),
    "hydromorphone": Opioid("Hydromorphone", Decimal("5"), MG),
    "methadone": Opioid("Methadone", Decimal("4.7"), MG),
    "morphine": Opioid("Morphine", Decimal("1"), MG),
    "oxycodone": Opioid("Oxycodone", Decimal("1.5"), MG),
    "oxymorphone": Opioid("Oxymorphone", Decimal("3"), MG),
    "tapentadol": Opioid("Tapentadol", Decimal("0.4"), MG),
    "tramadol": Opioid("Tramadol", Decimal("0.2"), MG),
    "buprenorphine": Opioid("Buprenorphine", None, MG),
}

NOTES: dict[str, str] = {"buprenorphine": BUPRENORPHINE_NOTE}


def daily_mme(drug: str, dose: Number, doses_per_day: Number = 1) -> Decimal | None:
    """MME/day of one regimen line, rounded half-up to 1 decimal (``None`` for buprenorphine).

    ``dose`` is mg per dose; for ``fentanyl_transdermal`` it is the patch strength in mcg/h and
    ``doses_per_day`` is ignored (a patch delivers its rate continuously: MME = mcg/h x 2.4).
    Raises :class:`UnknownOpioid` for an unknown drug and ``ValueError`` for a bad number.
    """
    exact = _exact_daily_mme(drug, dose, doses_per_day)
    return None if exact is None else _round(exact)


def total_mme(lines: Iterable[Any]) -> Decimal:
    """Total MME/day of a regimen, rounded half-up to 1 decimal.

    Each line is ``(drug, dose, doses_per_day)`` / ``(drug, dose)`` or a mapping with keys
    ``drug``, ``dose`` and optionally ``doses_per_day``. Lines without a factor (buprenorphine)
    contribute nothing.
    """
    total = Decimal(0)
    for line in lines:
        exact = _exact_daily_mme(*_unpack(line))
        if exact is not None:
            total += exact
    return _round(total)


class InvalidAmount(ValueError):
    """A typed MME or dose that is not acceptable; ``str(exc)`` is the message for the user."""


def parse_mme(value: Any) -> Decimal | None:
    """An MME/day as typed: ``None`` when blank (unknown), else a number from 0 to 100000
    rounded half-up to 1 decimal. Raises :class:`InvalidAmount` with the message to show."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_amount(value, what="MME", places=ONE_DECIMAL, allow_zero=True)


def parse_amount(value: Any, *, what: str = "The dose", places: Decimal = TWO_DECIMALS,
                 allow_zero: bool = False) -> Decimal:
    """A finite number in (0, 100000] (or [0, 100000] with ``allow_zero``), rounded half-up to
    ``places``. Raises :class:`InvalidAmount` (blank included) with the message to show."""
    not_a_number = InvalidAmount(f"{what} must be a number, e.g. 40 or 12.5.")
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise not_a_number
    try:
        number = Decimal(str(value).strip())  # floats through str: 0.1 stays 0.1
    except InvalidOperation:
        raise not_a_number from None
    if not number.is_finite():
        raise not_a_number
    if number < 0:
        raise InvalidAmount(f"{what} must be greater than or equal to 0.")
    if number > MAX_AMOUNT:
        raise InvalidAmount(f"{what} must be at most {MAX_AMOUNT}.")
    if number == 0 and not allow_zero:
        raise InvalidAmount(f"{what} must be above 0.")
    return number.quantize(places, rounding=ROUND_HALF_UP)


def mme_flags(total: Number | None) -> list[str]:
    """``["mme_50"]`` at >= 50 MME/day, ``["mme_50", "mme_90"]`` at >= 90, else ``[]``."""
    if total is None:
        return []
    amount = _decimal(total, "total")
    return [flag for flag, threshold in FLAG_THRESHOLDS if amount >= threshold]


def _exact_daily_mme(drug: str, dose: Number, doses_per_day: Number = 1) -> Decimal | None:
    try:
        opioid = OPIOIDS[drug]
    except (KeyError, TypeError):
        raise UnknownOpioid(drug) from None
    amount = _decimal(dose, "dose")
    if opioid.unit != MCG_PER_HOUR:
        amount *= _decimal(doses_per_day, "doses_per_day")
    return None if opioid.factor is None else amount * opioid.factor


def _unpack(line: Any) -> tuple[Any, ...]:
    if isinstance(line, Mapping):
        return line["drug"], line["dose"], line.get("doses_per_day", 1)
    return tuple(line)


def _decimal(value: Number, name: str) -> Decimal:
    """A finite, non-negative Decimal; floats go through ``str`` so 0.1 stays 0.1."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise ValueError(f"{name} must be a number, not {value!r}")
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValueError(f"{name} must be a number, not {value!r}") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
    return number


def _round(value: Decimal) -> Decimal:
    return value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
