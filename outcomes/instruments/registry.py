"""Instrument facts: the vetted ``data/instruments.json`` as frozen objects.

The JSON (an exact copy of the team's vetted ``instruments.json``; sources in ``data/README.md``)
is read from this package — never from the shared folder. Scoring modules read their tables,
bands and recodes through :func:`spec`, so the data file is the single source of scoring facts;
nothing here or in the scorers retypes a table.

This module knows the facts only. What the program does with an instrument (scorer, headline
and primary scores, summary line, trend series, metric scale, skip logic) is the instrument
module's ``SPEC``; ``catalogue.py`` joins the two and is what the rest of the code uses.

Pure Python: no Django, no database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

_DATA_FILE = "instruments.json"


class UnknownInstrument(KeyError):
    """Raised by :func:`get` (and everything built on it) for a code not in :data:`CODES`."""


def _load() -> Mapping[str, Any]:
    text = resources.files(__package__).joinpath("data", _DATA_FILE).read_text(encoding="utf-8")
    return freeze(json.loads(text))


@dataclass(frozen=True)
class Option:
    """One allowed answer: the stored integer ``value`` and its on-screen ``label``, and
    its LOINC answer code (``LA…``) where the facts give one."""

    value: int
    label: str
    loinc_answer: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "label": self.label}


@dataclass(frozen=True)
class Coding:
    """A terminology code (LOINC here): ``{code, system, display}``."""

    code: str
    system: str
    display: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "system": self.system, "display": self.display}


@dataclass(frozen=True)
class Item:
    """One question. ``options`` are in the order the published form lists them."""

    key: str
    text: str
    options: tuple[Option, ...]
    required: bool
    scored: bool
    loinc: Coding | None

    @property
    def allowed_values(self) -> tuple[int, ...]:
        """The stored values this item accepts, ascending."""
        return tuple(sorted(option.value for option in self.options))

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "text": self.text,
            "required": self.required,
            "options": [option.as_dict() for option in self.options],
            "loinc": self.loinc.as_dict() if self.loinc else None,
        }


@dataclass(frozen=True)
class LoincCodes:
    """Verified LOINC codes of an instrument: the panel (or ``None``) and one per score key."""

    panel: Coding | None
    scores: Mapping[str, Coding] = field(hash=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "panel": self.panel.as_dict() if self.panel else None,
            "scores": {key: coding.as_dict() for key, coding in self.scores.items()},
        }


@dataclass(frozen=True)
class Instrument:
    """An instrument's identity, items and interpretation facts.

    ``direction`` is a string (``higher_is_better``/``higher_is_worse``) for single-score
    instruments, a read-only mapping per domain/summary score for ``promis29`` and ``promis_gh``
    (the JSON states direction per domain there), and ``None`` for STarT Back (a stratification
    tool, no direction given). ``mcid`` is the JSON's MCID object (read-only) or ``None``.
    ``score_keys`` is the JSON's ``score_keys`` as published (a mapping, or a list for ``nps``).
    """

    code: str
    name: str
    version: str
    items: tuple[Item, ...]
    loinc: LoincCodes
    score_keys: Any = field(hash=False)
    direction: Any = field(hash=False)
    mcid: Mapping[str, Any] | None = field(hash=False)
    source: tuple[str, ...]
    license_note: str
    recall_period: str
    intro: str = ""  # instructions shown before the items (PSFS), when the facts give them

    @property
    def score_key_names(self) -> tuple[str, ...]:
        """The top-level keys every ``score()`` result for this instrument has, in order."""
        return tuple(self.score_keys)

    def item(self, key: str) -> Item:
        """The item with this key (``KeyError`` if there is none)."""
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready representation for the API."""
        return {
            "code": self.code,
            "name": self.name,
            "version": self.version,
            "recall_period": self.recall_period,
            "items": [item.as_dict() for item in self.items],
            "score_keys": thaw(self.score_keys),
            "loinc": self.loinc.as_dict(),
            "direction": thaw(self.direction),
            "mcid": thaw(self.mcid),
        }


def get(code: str) -> Instrument:
    """The facts of ``code``; raises :class:`UnknownInstrument` for anything else. (The rest of
    the code uses ``catalogue.get``: the instrument's spec, which carries these facts.)"""
    try:
        return _catalogue()[code]
    except (KeyError, TypeError):  # TypeError: unhashable code such as a list
        raise UnknownInstrument(code) from None


def spec(code: str) -> Mapping[str, Any]:
    """The read-only JSON object for ``code`` (scoring rules, tables, per-item extras).

    Scoring modules use this so that bands and tables are read from the data file.
    """
    get(code)  # uniform UnknownInstrument error
    return _raw()[code]


# --- loading ---------------------------------------------------------------------------------


def freeze(value: Any) -> Any:
    """Deep read-only copy: dicts become ``MappingProxyType``, lists become tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """Inverse of :func:`freeze`: plain dicts and lists, ready for ``json.dumps``."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    return value


def _raw() -> Mapping[str, Any]:
    return _DATA


@cache
def _catalogue() -> Mapping[str, Instrument]:
    raw = _raw()
    return MappingProxyType({code: _build_instrument(raw[code]) for code in CODES})


def _coding(value: Mapping[str, Any] | None) -> Coding | None:
    if not value:
        return None
    return Coding(code=value["code"], system=value["system"], display=value["display"])


def _build_item(raw: Mapping[str, Any]) -> Item:
    return Item(
        key=raw["key"],
        text=raw["text"],
        options=tuple(Option(value=o["value"], label=o["label"],
                            loinc_answer=o.get("loinc_answer")) for o in raw["options"]),
        required=bool(raw["required"]),
        scored=bool(raw["scored"]),
        loinc=_coding(raw.get("loinc")),
    )


def _build_loinc(raw: Mapping[str, Any]) -> LoincCodes:
    scores = {key: _coding(value) for key, value in (raw.get("scores") or {}).items()}
    return LoincCodes(
        panel=_coding(raw.get("panel")),
        scores=MappingProxyType({key: c for key, c in scores.items() if c is not None}),
    )


def _direction(raw: Mapping[str, Any]) -> Any:
    """Top-level ``direction`` when the JSON gives one; otherwise the per-score directions."""
    if "direction" in raw:
        return raw["direction"]
    per_score: dict[str, str] = {}
    if "domains" in raw:  # promis29: direction per 4-item domain
        per_score.update({name: dom["direction"] for name, dom in raw["domains"].items()})
    for name, rule in raw.get("scoring", {}).items():  # promis_gh: gph/gmh carry their own
        if isinstance(rule, Mapping) and "direction" in rule:
            per_score[name] = rule["direction"]
    return MappingProxyType(per_score) if per_score else None


def _build_instrument(raw: Mapping[str, Any]) -> Instrument:
    return Instrument(
        code=raw["code"],
        name=raw["name"],
        version=raw["version"],
        items=tuple(_build_item(item) for item in raw["items"]),
        loinc=_build_loinc(raw.get("loinc") or {}),
        score_keys=raw["score_keys"],
        direction=_direction(raw),
        mcid=raw.get("mcid"),
        source=tuple(raw.get("source", ())),
        license_note=raw.get("license_note", ""),
        recall_period=raw.get("recall_period", ""),
        intro=raw.get("intro", ""),
    )


# Read once at import (a few hundred kB, pure data). The facts file's order is the program's
# display/API order, and its codes are the instruments that exist: each has its module.
_DATA: Mapping[str, Any] = _load()
CODES: tuple[str, ...] = tuple(_DATA)
