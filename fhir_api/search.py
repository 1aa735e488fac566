"""FHIR search parameter parsing (pure: no ORM besides building ``Q`` objects).

Handling is strict: an unknown parameter, an unsupported modifier or prefix, or a badly
formed value is a 400 with an OperationOutcome, rather than being silently ignored (which
would return more patient data than the client asked for).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

from django.db.models import Q

from ipm.errors import InvalidInput

from . import codes

DEFAULT_COUNT = 20
MAX_COUNT = 200
# Parameters every search accepts, besides its own (``_sort``, ``_include`` and
# ``_revinclude`` take the values each search declares).
COMMON = ("_count", "_offset", "_format", "_summary", "_sort", "_include", "_revinclude")


class SearchError(InvalidInput):
    """A bad search parameter (400). ``issue_code`` is the OperationOutcome issue type."""

    def __init__(self, message: str, *, param: str = "", issue_code: str = "invalid"):
        super().__init__(message, {param: [message]} if param else {})
        self.issue_code = issue_code


def check_params(query, allowed: tuple[str, ...], *, sorts: tuple[str, ...] = (),
                 includes: tuple[str, ...] = (), revincludes: tuple[str, ...] = ()) -> None:
    """Refuse parameters this search does not support (and any modifier, ``name:exact``),
    and ``_sort``/``_include``/``_revinclude``/``_summary`` values it does not offer."""
    for name, offered in (("_include", includes), ("_revinclude", revincludes)):
        for value in query.getlist(name):
            for part in value.split(","):
                if part not in offered:
                    raise SearchError(
                        f"'{name}={part}' is not supported here"
                        + (f"; supported: {', '.join(offered)}." if offered else "."),
                        param=name, issue_code="not-supported")
    for key in sort_keys(query):
        if key not in sorts:
            raise SearchError(f"Cannot sort by '{key}'"
                              + (f"; supported: {', '.join(sorts)}." if sorts else "."),
                              param="_sort", issue_code="not-supported")
    summary = single(query, "_summary")
    if summary is not None and summary not in ("count", "false"):
        raise SearchError("Only _summary=count (the total alone) and _summary=false are "
                          "supported.", param="_summary", issue_code="not-supported")
    for name in query:
        base, _, modifier = name.partition(":")
        if base not in allowed and base not in COMMON:
            supported = ", ".join(allowed + COMMON)
            raise SearchError(f"Unknown search parameter '{name}'. Supported: {supported}.",
                              param=name, issue_code="not-supported")
        if modifier:
            raise SearchError(f"Search modifiers are not supported ('{name}').",
                              param=name, issue_code="not-supported")
    for name, values in query.lists():
        if "\x00" in name or any("\x00" in v for v in values):
            raise SearchError("Search values must not contain NUL characters.", param=name)
    fmt = query.get("_format")
    if fmt is not None and fmt not in ("json", "application/json", "application/fhir+json"):
        raise SearchError("Only JSON is served (_format=json).", param="_format",
                          issue_code="not-supported")


def single(query, name: str) -> str | None:
    """The one value of ``name`` (``None`` if absent); repeating it is an error."""
    values = query.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise SearchError(f"Give '{name}' once (separate alternatives with commas).",
                          param=name)
    return values[0]


# --- paging ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Paging:
    count: int
    offset: int


def count_warning(query) -> str | None:
    """The warning for a ``_count`` above the cap (the page is cut to the cap, and the
    client is told so rather than left to guess)."""
    raw = query.get("_count")
    if raw and raw.isdigit() and int(raw) > MAX_COUNT:
        return (f"_count={int(raw)} is above this server's maximum page size; pages hold "
                f"{MAX_COUNT} entries (follow the 'next' link for more).")
    return None


def summary_count(query) -> bool:
    return query.get("_summary") == "count"


def sort_keys(query) -> list[str]:
    """The ``_sort`` keys as given (``-`` prefix kept), in order."""
    value = single(query, "_sort")
    if value is None:
        return []
    keys = [part.strip() for part in value.split(",")]
    if any(not k or k == "-" for k in keys):
        raise SearchError("'_sort' has an empty key.", param="_sort")
    return [k.lstrip("-") for k in keys]


def order_by(query, fields: dict[str, str], default: tuple[str, ...]) -> tuple[str, ...]:
    """ORM ordering for ``_sort`` (``fields``: sort key → model field), ties broken by id."""
    value = single(query, "_sort")
    if value is None:
        return default
    out = []
    for part in value.split(","):
        part = part.strip()
        desc = part.startswith("-")
        out.append(("-" if desc else "") + fields[part.lstrip("-")])
    if not any(f.lstrip("-") == "pk" for f in out):
        out.append("pk")
    return tuple(out)


def ids(query, name: str = "_id") -> list[str] | None:
    """``_id`` values (comma-separated alternatives), or ``None`` when absent."""
    value = single(query, name)
    if value is None:
        return None
    out = [part.strip() for part in value.split(",")]
    if any(not part for part in out):
        raise SearchError(f"'{name}' has an empty value.", param=name)
    return out


def paging(query) -> Paging:
    """``_count`` (default 20, at most 200; 0 answers the total only) and ``_offset``."""
    count = _non_negative(query, "_count", DEFAULT_COUNT)
    offset = _non_negative(query, "_offset", 0)
    return Paging(count=min(count, MAX_COUNT), offset=offset)


def _non_negative(query, name: str, default: int) -> int:
    raw = single(query, name)
    if raw is None:
        return default
    if not re.fullmatch(r"\d{1,9}", raw):
        raise SearchError(f"'{name}' must be a whole number of 0 or more.", param=name)
    return int(raw)


# --- references and tokens -------------------------------------------------------------------

_REFERENCE = re.compile(r"(?:(?:https?://\S+/)?(?P<type>[A-Za-z]+)/)?(?P<id>[A-Za-z0-9\-.]{1,64})")


def reference_ids(value: str, resource_type: str, *, param: str) -> list[int]:
    """Database ids named by a reference parameter (``123``, ``Patient/123``, an absolute
    URL ending in ``Patient/123``; comma-separated alternatives). Ids that cannot exist here
    (not numeric) match nothing."""
    ids = []
    for part in value.split(","):
        match = _REFERENCE.fullmatch(part.strip())
        if not match or (match.group("type") and match.group("type") != resource_type):
            raise SearchError(f"'{param}' must reference a {resource_type} "
                              f"(e.g. {resource_type}/123).", param=param)
        if match.group("id").isdigit() and len(match.group("id")) <= 18:
            ids.append(int(match.group("id")))
    return ids


@dataclass(frozen=True)
class Token:
    system: str | None  # None: any system; "": explicitly no system
    code: str | None  # None: any code in the system


def tokens(value: str, *, param: str) -> list[Token]:
    """``system|code``, ``|code``, ``system|`` or ``code``; commas separate alternatives."""
    out = []
    for part in value.split(","):
        if not part:
            raise SearchError(f"'{param}' has an empty value.", param=param)
        if "|" in part:
            system, _, code = part.partition("|")
            out.append(Token(system=system, code=code or None))
        else:
            out.append(Token(system=None, code=part))
    return out


def token_matches(token: Token, system: str, code: str) -> bool:
    if token.system is not None and token.system != system:
        return False
    return token.code is None or token.code == code


# --- dates -----------------------------------------------------------------------------------

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")
UNSUPPORTED_PREFIXES = ("sa", "eb", "ap")
_DATE = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>\.\d{1,6})?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?"
)


@dataclass(frozen=True)
class DateRange:
    """A search value: ``prefix`` and the half-open range ``[lower, upper)`` it denotes."""

    prefix: str
    lower: datetime
    upper: datetime


def parse_date(value: str, tz: ZoneInfo, *, param: str) -> DateRange:
    """``[prefix]YYYY[-MM[-DD[Thh:mm[:ss[.f]][tz]]]]``; dates without a zone are read in
    ``tz`` (the program's time zone)."""
    prefix = "eq"
    if value[:2] in PREFIXES + UNSUPPORTED_PREFIXES:
        prefix, value = value[:2], value[2:]
        if prefix not in PREFIXES:
            raise SearchError(f"Date prefix '{prefix}' is not supported; use one of "
                              f"{', '.join(PREFIXES)}.", param=param, issue_code="not-supported")
    match = _DATE.fullmatch(value)
    if not match:
        raise SearchError(f"'{param}' must be a FHIR date such as 2024-05-01 or "
                          f"ge2024-05-01T09:00:00Z.", param=param)
    parts = match.groupdict()
    try:
        lower, upper = _range(parts, tz)
    except (ValueError, OverflowError):
        raise SearchError(f"'{param}' is not a real date.", param=param)
    return DateRange(prefix=prefix, lower=lower, upper=upper)


def _range(p: dict, tz: ZoneInfo) -> tuple[datetime, datetime]:
    year = int(p["year"])
    if p["month"] is None:
        return _at(date(year, 1, 1), tz), _at(date(year + 1, 1, 1), tz)
    month = int(p["month"])
    if p["day"] is None:
        last = calendar.monthrange(year, month)[1]
        start = date(year, month, 1)
        return _at(start, tz), _at(start + timedelta(days=last), tz)
    day = date(year, month, int(p["day"]))
    if p["hour"] is None:
        return _at(day, tz), _at(day + timedelta(days=1), tz)
    zone = tz
    if p["tz"] == "Z":
        zone = ZoneInfo("UTC")
    elif p["tz"]:
        sign = 1 if p["tz"][0] == "+" else -1
        hours, minutes = int(p["tz"][1:3]), int(p["tz"][4:6])
        zone = dt_timezone(sign * timedelta(hours=hours, minutes=minutes))
    second = int(p["second"] or 0)
    micro = int((p["fraction"] or ".0")[1:].ljust(6, "0"))
    start = datetime(year, day.month, day.day, int(p["hour"]), int(p["minute"]), second,
                     micro, tzinfo=zone)
    if p["fraction"]:
        step = timedelta(microseconds=10 ** (6 - len(p["fraction"][1:])))
    elif p["second"]:
        step = timedelta(seconds=1)
    else:
        step = timedelta(minutes=1)
    return start, start + step


def _at(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def date_q(field: str, ranges: list[DateRange]) -> Q:
    """All of ``ranges`` (repeated parameters AND together) applied to a point in time."""
    q = Q()
    for r in ranges:
        inside = Q(**{f"{field}__gte": r.lower, f"{field}__lt": r.upper})
        q &= {
            "eq": inside,
            "ne": ~inside,
            "gt": Q(**{f"{field}__gte": r.upper}),
            "ge": Q(**{f"{field}__gte": r.lower}),
            "lt": Q(**{f"{field}__lt": r.lower}),
            "le": Q(**{f"{field}__lt": r.upper}),
        }[r.prefix]
    return q


def date_params(query, name: str, tz: ZoneInfo) -> list[DateRange]:
    return [parse_date(v, tz, param=name) for v in query.getlist(name)]


def questionnaire_codes(value: str, *, param: str) -> list[str]:
    """Instrument codes named by ``questionnaire`` (canonical URLs or bare ids)."""
    out = []
    for part in value.split(","):
        ident = part.split("|")[0]
        if ident.startswith(codes.QUESTIONNAIRE_URL_PREFIX):
            ident = ident[len(codes.QUESTIONNAIRE_URL_PREFIX):]
        elif ident.startswith("Questionnaire/"):
            ident = ident[len("Questionnaire/"):]
        out.append(codes.from_fhir_id(ident))
    return out
