"""Parse the filters every metrics entry point shares (API, dashboard, CSV export, command):
`from` and `to` (YYYY-MM-DD, inclusive), `service` (a service code) and `site` (a site id or
code). Bad input raises
`InvalidInput` naming the field, which the API turns into a 400."""

import datetime as dt
import re
from collections.abc import Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.dateformat import format as date_format

from ipm.errors import InvalidInput
from ipm.validators import validate_care_date
from patients.models import Site
from referrals.models import Service

from .definitions import Scope, default_range

MAX_DAYS = 3 * 366  # weekly series and previous-period comparison stay affordable
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(value: str, name: str) -> dt.date:
    value = (value or "").strip()
    try:
        if not _ISO_DATE.match(value):
            raise ValueError
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"'{name}' must be a date in the form YYYY-MM-DD.",
                           {name: [f"Enter a date as YYYY-MM-DD (got '{value}')."]})
    try:
        validate_care_date(day)
    except DjangoValidationError as exc:
        raise InvalidInput(f"'{name}': {exc.messages[0]}", {name: exc.messages})
    return day


def parse_service(code: str | None) -> Service | None:
    code = (code or "").strip()
    if not code:
        return None
    service = Service.objects.filter(code=code).first()
    if service is None:
        known = ", ".join(Service.objects.order_by("code").values_list("code", flat=True))
        raise InvalidInput(f"Unknown service '{code}'.",
                           {"service": [f"Unknown service '{code}'. Use one of: {known}."]})
    return service


def parse_site(value) -> Site | None:
    """A site by id (as `/api/sites/` gives it) or by code; empty: every site."""
    value = str(value or "").strip()
    if not value:
        return None
    site = (Site.objects.filter(pk=int(value)).first() if value.isdigit()
            else Site.objects.filter(code=value).first())
    if site is None:
        known = ", ".join(f"{pk} ({code})" for pk, code in
                          Site.objects.order_by("pk").values_list("pk", "code"))
        raise InvalidInput(f"Unknown site '{value}'.",
                           {"site": [f"Unknown site '{value}'. Use a site id or code: {known}."]})
    return site


def scope_from_params(params: Mapping) -> Scope:
    """A Scope from query parameters. Without dates: the 30 days ending yesterday; with only
    one of them, a 30-day range from or to it."""
    raw_from, raw_to = params.get("from") or "", params.get("to") or ""
    default_start, default_end = default_range()
    start = parse_date(raw_from, "from") if raw_from else None
    end = parse_date(raw_to, "to") if raw_to else None
    if start is None and end is None:
        start, end = default_start, default_end
    elif start is None:
        start = end - dt.timedelta(days=29)
    elif end is None:
        end = start + dt.timedelta(days=29)
    if end < start:
        raise InvalidInput("'to' must be on or after 'from'.",
                           {"to": [f"Must be on or after {start.isoformat()}."]})
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"The range may span at most {MAX_DAYS} days.",
                           {"from": [f"Choose a range of at most {MAX_DAYS} days."]})
    return Scope(start, end, parse_service(params.get("service")), parse_site(params.get("site")))


def presets(today: dt.date | None = None) -> list[dict]:
    """The dashboard's one-click periods. "Today" and the "… to today" ranges include today,
    so an alert opened an hour ago counts; the default (30 complete days, ending yesterday)
    is what the nightly snapshot computes."""
    today = today or timezone.localdate()
    default_start, default_end = default_range(today)
    rows = [("Today", today, today),
            ("Last 7 days", today - dt.timedelta(days=6), today),
            ("Last 30 days", today - dt.timedelta(days=29), today),
            ("30 days to yesterday", default_start, default_end),
            ("Last 90 days", today - dt.timedelta(days=89), today)]
    return [{"label": label, "from": start.isoformat(), "to": end.isoformat()}
            for label, start, end in rows]


def period_phrase(start: dt.date, end: dt.date, today: dt.date | None = None) -> str:
    """The period in words, saying whether today is in it: the figures of a period that ends
    yesterday cannot show what happened today."""
    today = today or timezone.localdate()
    days = (end - start).days + 1
    span = (date_format(start, "j M Y") if start == end
            else f"{date_format(start, 'j M Y')} to {date_format(end, 'j M Y')}")
    length = "1 day" if days == 1 else f"{days} days"
    if start <= today <= end:
        when = "today so far" if start == end == today else "up to and including today"
    elif end < today:
        when = ("ending yesterday: today is not included" if end == today - dt.timedelta(days=1)
                else "in the past")
    else:
        when = "partly in the future"
    return f"{length}, {span} ({when})"
