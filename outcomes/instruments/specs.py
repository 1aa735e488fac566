"""``InstrumentSpec``: everything the program knows about one instrument, in one object.

Each instrument module (``phq9.py``, ``psfs.py`` ...) exports one ``SPEC``. The vetted facts (items,
options, LOINC codes, direction, MCID) stay in ``data/instruments.json`` and are reached through
the spec (``SPEC.items``, ``SPEC.loinc``); the spec adds what the program decides about them:

- ``scorer``: the pure scoring function (called on validated answers; ``SPEC.score`` validates);
- ``headline_keys``: the numbers worth trending and comparing (dotted for nested PROMIS scores),
  ``primary_key``: the one stored as the response's ``primary_score`` (sorting, metrics);
- ``summary``: the one-line summary of a score dict shown on the patient page;
- ``label``/``short_label``: "PHQ-9: depression" / "PHQ-9"; ``display_range``: the chart's y axis;
- ``trend``: the series charted on the patient's trends (empty: not charted);
- ``measures``: responder measures for the program metrics, each with its integer ``scale``;
- ``bands``: score key -> the score that interprets it (``total`` -> ``severity``) for FHIR;
- ``asked_when``: skip logic per item (validator and renderer both read it);
- ``intake``: ``"screen"`` (asked at every intake), ``"baseline"`` (offered, skippable) or ``""``;
- ``safety_flag``: a boolean score that opens a safety alert of a kind;
- ``exact``: the exact value behind a reported score (means rounded to 2 decimals), and
  ``custom_mcid``: the responder rule per key when the facts' generic MCID shape does not fit.

Pure Python: no Django, no database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from . import registry
from .mcid import MCIDRule, exact, rule_from_facts
from .validation import AskedWhen, InvalidAnswers, check

Scorer = Callable[[Mapping[str, int]], dict[str, Any]]


@dataclass(frozen=True)
class TrendSeries:
    """One line on the instrument's trend chart: a headline key, its label, and whether the
    MCID band around the baseline is drawn (and the line shown by default)."""

    key: str
    label: str
    mcid_band: bool = True


@dataclass(frozen=True)
class Measure:
    """A responder measure for the program metrics (``metrics.definitions``).

    ``scale`` makes every stored value of ``score_key`` an integer (PEG is a mean of 3 integer
    items reported to 2 decimals: x3 recovers the item sum; PROMIS T-scores have 1 decimal: x10),
    so the MCID comparison in SQL is exact integer arithmetic.
    """

    key: str
    label: str
    score_key: str
    scale: int


@dataclass(frozen=True)
class SafetyFlag:
    """A boolean score that, when true, opens a safety alert of ``alert_kind``."""

    score_key: str
    alert_kind: str


@dataclass(frozen=True)
class InstrumentSpec:
    code: str
    label: str
    short_label: str
    scorer: Scorer
    headline_keys: tuple[str, ...]
    primary_key: str | None
    summary: Callable[[Mapping[str, Any]], str]
    display_range: tuple[float, float]
    trend: tuple[TrendSeries, ...] = ()
    measures: tuple[Measure, ...] = ()
    bands: Mapping[str, str] = field(default_factory=dict, hash=False)
    asked_when: Mapping[str, AskedWhen] = field(default_factory=dict, hash=False)
    intake: str = ""
    safety_flag: SafetyFlag | None = None
    exact: Callable[[float], Fraction] = exact
    custom_mcid: Callable[[str], MCIDRule | None] | None = None

    def __post_init__(self) -> None:
        # Read-only like the facts; a typo in the skip logic fails at import, not at a patient.
        object.__setattr__(self, "bands", MappingProxyType(dict(self.bands)))
        object.__setattr__(self, "asked_when", MappingProxyType(dict(self.asked_when)))
        keys = {item.key for item in self.facts.items}
        for key, condition in self.asked_when.items():
            if key not in keys or condition.item not in keys:
                raise ValueError(f"{self.code}: skip logic names an unknown item ({key})")
        if self.intake not in ("", "screen", "baseline"):
            raise ValueError(f"{self.code}: intake must be '', 'screen' or 'baseline'")

    # --- the vetted facts (data/instruments.json) -------------------------------------------

    @property
    def facts(self) -> registry.Instrument:
        return registry.get(self.code)

    @property
    def name(self) -> str:
        return self.facts.name

    @property
    def version(self) -> str:
        return self.facts.version

    @property
    def recall_period(self) -> str:
        return self.facts.recall_period

    @property
    def intro(self) -> str:
        return self.facts.intro

    @property
    def items(self) -> tuple[registry.Item, ...]:
        return self.facts.items

    @property
    def loinc(self) -> registry.LoincCodes:
        return self.facts.loinc

    @property
    def direction(self) -> Any:
        return self.facts.direction

    @property
    def mcid(self) -> Mapping[str, Any] | None:
        """The facts' MCID object as published (``None`` when there is none)."""
        return self.facts.mcid

    @property
    def score_keys(self) -> Any:
        return self.facts.score_keys

    @property
    def score_key_names(self) -> tuple[str, ...]:
        return self.facts.score_key_names

    @property
    def source(self) -> tuple[str, ...]:
        return self.facts.source

    @property
    def license_note(self) -> str:
        return self.facts.license_note

    def item(self, key: str) -> registry.Item:
        return self.facts.item(key)

    def as_dict(self) -> dict[str, Any]:
        """The API shape: the facts, with each item's skip logic (``asked_when`` or null)."""
        shape = self.facts.as_dict()
        for item in shape["items"]:
            condition = self.asked_when.get(item["key"])
            item["asked_when"] = condition.as_dict() if condition else None
        return shape

    # --- validation and scoring -------------------------------------------------------------

    def check(self, answers: Any) -> tuple[dict[str, int], dict[str, list[str]]]:
        """``(coerced answers, per-item errors)``: the one validator every path uses."""
        return check(self.facts, answers, self.asked_when)

    def validate(self, answers: Any) -> dict[str, list[str]]:
        return self.check(answers)[1]

    def clean(self, answers: Any) -> dict[str, int]:
        cleaned, errors = self.check(answers)
        if errors:
            raise InvalidAnswers(errors)
        return cleaned

    def score(self, answers: Any) -> dict[str, Any]:
        """Validate the whole response (``InvalidAnswers``), then score it."""
        return self.scorer(self.clean(answers))

    def applies(self, key: str, answers: Mapping[str, Any]) -> bool | None:
        """Whether item ``key`` is asked given these (coerced) answers; ``None``: not known yet."""
        condition = self.asked_when.get(key)
        return True if condition is None else condition.applies(answers)

    # --- reading scores ---------------------------------------------------------------------

    def headline(self, scores: Mapping[str, Any]) -> dict[str, float]:
        """``{dotted key: float}`` of the trendable numbers in ``scores``."""
        return {key: float(_resolve(scores, key)) for key in self.headline_keys}

    def primary(self, scores: Mapping[str, Any]) -> float | None:
        return None if self.primary_key is None else float(_resolve(scores, self.primary_key))

    def mcid_rule(self, key: str) -> MCIDRule | None:
        """The responder rule for headline ``key`` (``None`` where no MCID applies)."""
        return self.custom_mcid(key) if self.custom_mcid else rule_from_facts(self.facts, key)


def _resolve(scores: Mapping[str, Any], dotted: str) -> Any:
    value: Any = scores
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise ValueError(f"scores have no {dotted!r}")
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"scores {dotted!r} is not a number: {value!r}")
    return value
