"""Reads behind availability: weekly windows, leave, public holidays and held time, loaded in
a fixed number of queries for any number of clinicians, then handed to the pure rules.

Public holidays come from the program's calendar (Program.holiday_country / holiday_region,
docs/product.md §8) through the maintained `holidays` library. An unknown country or region gives no
holidays rather than an error: the program settings page validates those codes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib
from django.contrib.auth import get_user_model
from django.db.models import Q

from ipm import roles

from . import rules
from .models import Appointment, AvailabilityException, WeeklyAvailability

User = get_user_model()


@lru_cache(maxsize=64)
def _holidays(country: str, region: str, year: int) -> frozenset[date]:
    try:
        calendar = holidays_lib.country_holidays(country, subdiv=region or None, years=year)
    except (NotImplementedError, KeyError, ValueError):
        return frozenset()
    return frozenset(calendar.keys())


def program_holidays(program, start: date, end: date) -> set[date]:
    """The program's public holidays between two dates (inclusive)."""
    country = (getattr(program, "holiday_country", "") or "").upper()
    if not country:
        return set()
    region = (getattr(program, "holiday_region", "") or "").upper()
    out: set[date] = set()
    for year in range(start.year, end.year + 1):
        out |= {d for d in _holidays(country, region, year) if start <= d <= end}
    return out


def bookable_clinicians():
    """Active users holding the clinician role."""
    return (User.objects.filter(is_active=True)
            .filter(Q(groups__name=roles.CLINICIAN) | Q(is_superuser=True)).distinct()
            .order_by("first_name", "last_name", "username"))


def windows_by_clinician(clinician_ids, *, site_id=None) -> dict[int, list[rules.Window]]:
    qs = WeeklyAvailability.objects.filter(clinician_id__in=list(clinician_ids)) \
        .select_related("site")
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    out: dict[int, list[rules.Window]] = defaultdict(list)
    for w in qs:
        out[w.clinician_id].append(rules.Window(
            weekday=w.weekday, start=w.start_time, end=w.end_time, site_id=w.site_id,
            service_id=w.service_id, time_zone=w.site.time_zone))
    return out


def leave_by_clinician(clinician_ids, start_at, end_at, *, site_id=None) -> dict[int, list]:
    qs = AvailabilityException.objects.filter(clinician_id__in=list(clinician_ids),
                                              starts_at__lt=end_at, ends_at__gt=start_at)
    if site_id is not None:
        qs = qs.filter(Q(site_id=site_id) | Q(site__isnull=True))
    out: dict[int, list] = defaultdict(list)
    for row in qs:
        out[row.clinician_id].append(rules.Span(row.starts_at, row.ends_at))
    return out


def busy_by_clinician(clinician_ids, start_at, end_at, *, exclude_pk=None) -> dict[int, list]:
    """Time held by booked or attended appointments (whatever the site)."""
    qs = Appointment.objects.filter(clinician_id__in=list(clinician_ids),
                                    status__in=rules.HOLDS_TIME,
                                    starts_at__lt=end_at, ends_at__gt=start_at)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    out: dict[int, list] = defaultdict(list)
    for start, end, clinician_id in qs.values_list("starts_at", "ends_at", "clinician_id"):
        out[clinician_id].append(rules.Span(start, end))
    return out


def day_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """[midnight of `start`, midnight after `end`) in zone `tz`, with a day of margin either
    side so windows in other sites' zones are not cut off."""
    zone = ZoneInfo(tz)
    return (datetime.combine(start - timedelta(days=1), datetime.min.time(), zone),
            datetime.combine(end + timedelta(days=2), datetime.min.time(), zone))


@dataclass
class Slot:
    clinician: object
    site_id: int
    start: datetime
    end: datetime
    book_url: str = ""  # set by the calendar page

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


def open_spans_for(*, clinician_ids, program, start: date, end: date, service_id=None,
                   site_id=None) -> dict[int, list[tuple[int, rules.Span]]]:
    """{clinician id: [(site id, available span)]} between the dates: windows minus leave
    minus holidays (held time not removed)."""
    clinician_ids = list(clinician_ids)
    windows = windows_by_clinician(clinician_ids, site_id=site_id)
    lo, hi = day_bounds(start, end, program.time_zone)
    leave = leave_by_clinician(clinician_ids, lo, hi, site_id=site_id)
    holidays = program_holidays(program, start, end)
    out: dict[int, list[tuple[int, rules.Span]]] = {}
    for cid in clinician_ids:
        spans = []
        for sid in sorted({w.site_id for w in windows.get(cid, [])}):
            for span in rules.open_spans(windows=windows[cid], start=start, end=end,
                                         leave=leave.get(cid, []), holidays=holidays,
                                         service_id=service_id, site_id=sid):
                spans.append((sid, span))
        out[cid] = sorted(spans, key=lambda pair: pair[1])
    return out


def free_slots(*, program, start: date, end: date, minutes: int, now, clinician=None,
               service=None, site=None) -> list[Slot]:
    """Free slots of `minutes` for one clinician, or every clinician with hours for the
    service, between two dates, starting after `now`; sorted by time then clinician."""
    if clinician is not None:
        clinicians = [clinician]
    else:
        ids = WeeklyAvailability.objects.filter(
            Q(service=service) | Q(service__isnull=True) if service is not None else Q())
        if site is not None:
            ids = ids.filter(site=site)
        clinicians = list(bookable_clinicians().filter(
            pk__in=ids.values("clinician_id")))
    by_id = {c.pk: c for c in clinicians}
    spans = open_spans_for(clinician_ids=by_id, program=program, start=start, end=end,
                           service_id=getattr(service, "pk", None),
                           site_id=getattr(site, "pk", None))
    lo, hi = day_bounds(start, end, program.time_zone)
    busy = busy_by_clinician(by_id, lo, hi)
    out = []
    for cid, pairs in spans.items():
        for site_id in dict.fromkeys(sid for sid, _ in pairs):
            site_spans = [s for sid, s in pairs if sid == site_id]
            for slot in rules.free_slots(spans=site_spans, busy=busy.get(cid, []),
                                         minutes=minutes, not_before=now):
                out.append(Slot(by_id[cid], site_id, slot.start, slot.end))
    out.sort(key=lambda s: (s.start, s.clinician.pk, s.site_id))
    return out


def within_availability(*, program, clinician, site, service, starts_at, ends_at) -> bool:
    """Whether [starts_at, ends_at) lies inside the clinician's hours at that site (for the
    service), off leave and off public holidays."""
    tz = ZoneInfo(site.time_zone)
    first, last = starts_at.astimezone(tz).date(), ends_at.astimezone(tz).date()
    spans = open_spans_for(clinician_ids=[clinician.pk], program=program, start=first,
                           end=last, service_id=getattr(service, "pk", None), site_id=site.pk)
    return rules.within([s for _sid, s in spans[clinician.pk]], rules.Span(starts_at, ends_at))
