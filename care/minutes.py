"""Care-management minutes per patient per calendar month (SPEC §9).

A month's minutes are the care-manager contact minutes plus the signed visit-note minutes of
that patient in that calendar month, in the program's time zone (settings.TIME_ZONE). A
visit note counts in the month of its appointment, once signed (a draft counts nothing).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Min, Sum
from django.utils import timezone

from appointments.selectors import first_signed_note_visits, signed_note_minutes
from ipm.errors import InvalidInput

from .models import Contact

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value, *, field: str = "month") -> dt.date:
    """'YYYY-MM' (or a date) → the first day of that month; 400 naming `field` otherwise."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    match = _MONTH.match(str(value or "").strip())
    if match and 1 <= int(match.group(2)) <= 12 and int(match.group(1)) >= 1900:
        return dt.date(int(match.group(1)), int(match.group(2)), 1)
    msg = "Give the month as YYYY-MM, e.g. 2026-03."
    raise InvalidInput(msg, {field: [msg]})


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the calendar month in the program's time zone."""
    tz = timezone.get_default_timezone()
    start = timezone.make_aware(dt.datetime.combine(month.replace(day=1), dt.time.min), tz)
    end = timezone.make_aware(dt.datetime.combine(next_month(month), dt.time.min), tz)
    return start, end


def _local_month(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, timezone.get_default_timezone()).date().replace(day=1)


def month_minutes(patient_ids: Iterable[int] | None, month) -> dict[int, int]:
    """{patient id: minutes} for the calendar month (`date` or 'YYYY-MM'); patients with no
    minutes are absent. `patient_ids=None` means every patient (the billing export)."""
    start, end = month_bounds(parse_month(month))
    contacts = Contact.objects.filter(contacted_at__gte=start, contacted_at__lt=end)
    if patient_ids is not None:
        contacts = contacts.filter(patient_id__in=list(patient_ids))
    totals: dict[int, int] = defaultdict(int)
    for pid, minutes in (contacts.order_by().values("patient_id")
                         .annotate(total=Sum("minutes")).values_list("patient_id", "total")):
        totals[pid] += minutes or 0
    # Signed visit notes, by the patient and the local month of their appointment.
    for pid, minutes in signed_note_minutes(patient_ids, start, end):
        totals[pid] += minutes or 0
    return {pid: total for pid, total in totals.items() if total > 0}


def first_care_months(patient_ids: Iterable[int]) -> dict[int, dt.date]:
    """{patient id: first day of the patient's first care-management month}: the first
    month with care-management minutes (contacts with minutes > 0, or the appointment of a
    signed visit note with minutes > 0, whichever is earlier)."""
    patient_ids = list(patient_ids)
    firsts = dict(Contact.objects.filter(patient_id__in=patient_ids, minutes__gt=0)
                  .order_by().values("patient_id").annotate(first=Min("contacted_at"))
                  .values_list("patient_id", "first"))
    for pid, first in first_signed_note_visits(patient_ids).items():
        firsts[pid] = min(first, firsts.get(pid, first))
    return {pid: _local_month(first) for pid, first in firsts.items()}
