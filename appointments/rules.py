"""Appointment rules as pure functions (no ORM), table-tested in tests/appointments/test_rules.py.

Status (docs/product.md §8):
    booked → attended | did_not_attend        from 15 minutes before the start
    booked → cancelled_by_patient | cancelled_by_clinic   any time, with a reason
Everything else is refused (409): attended, did-not-attend and cancelled appointments are
the record. Only `booked` and `attended` appointments hold the clinician's time.

Availability: a clinician's free slots of a given length are the weekly windows of a day
(local times at the site), minus leave, minus the program's public holidays, minus the
time already held by appointments. Slots are packed from the start of each window, each
one starting where the previous one (or a busy block) ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BOOKED, ATTENDED, DID_NOT_ATTEND = "booked", "attended", "did_not_attend"
CANCELLED_BY_PATIENT, CANCELLED_BY_CLINIC = "cancelled_by_patient", "cancelled_by_clinic"
STATUSES = (BOOKED, ATTENDED, DID_NOT_ATTEND, CANCELLED_BY_PATIENT, CANCELLED_BY_CLINIC)
CANCELLED = (CANCELLED_BY_PATIENT, CANCELLED_BY_CLINIC)
HOLDS_TIME = (BOOKED, ATTENDED)
# Marked after the event (or just before it): attendance.
OUTCOMES = (ATTENDED, DID_NOT_ATTEND)
ALLOWED = {BOOKED: (ATTENDED, DID_NOT_ATTEND, CANCELLED_BY_PATIENT, CANCELLED_BY_CLINIC)}
MARK_FROM_BEFORE_START = timedelta(minutes=15)
MIN_DURATION, MAX_DURATION = 5, 480
# Two missed visits in one referral put it on the worklist for review.
DNA_REVIEW_THRESHOLD = 2
REMINDER_OFFSETS = (("48h", timedelta(hours=48)), ("2h", timedelta(hours=2)))

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_CHOICES = [(i, name) for i, name in enumerate(
    ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))]

# Why a status change was refused.
UNKNOWN = "unknown"          # 400: not a status
NOT_ALLOWED = "not_allowed"  # 409
TOO_EARLY = "too_early"      # 409: attendance before start - 15 min
REASON_MISSING = "reason_missing"  # 400


class StatusRefused(Exception):
    def __init__(self, message: str, code: str, field: str = "status"):
        self.message, self.code, self.field = message, code, field
        super().__init__(message)


def allowed_from(current: str) -> tuple[str, ...]:
    return ALLOWED.get(current, ())


def check_status_change(*, current: str, to: str, starts_at: datetime, now: datetime,
                        reason: str = "") -> None:
    """Raise StatusRefused unless `current → to` may happen now with what was given."""
    if to not in STATUSES or to == BOOKED:
        raise StatusRefused(f"'{to}' is not a status an appointment can be set to; use one of "
                            f"{', '.join(s for s in STATUSES if s != BOOKED)}.", UNKNOWN)
    if to not in allowed_from(current):
        raise StatusRefused(f"An appointment cannot go from '{current}' to '{to}'.",
                            NOT_ALLOWED)
    if to in OUTCOMES and now < starts_at - MARK_FROM_BEFORE_START:
        opens = starts_at - MARK_FROM_BEFORE_START
        raise StatusRefused(f"Attendance can be recorded from 15 minutes before the start "
                            f"({opens:%Y-%m-%d %H:%M} UTC).", TOO_EARLY)
    if to in CANCELLED and not (reason or "").strip():
        raise StatusRefused("A reason is required to cancel an appointment.", REASON_MISSING,
                            field="reason")


# --- Time ranges ---------------------------------------------------------------------------

@dataclass(frozen=True, order=True)
class Span:
    """A half-open time range [start, end)."""

    start: datetime
    end: datetime

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: Span) -> bool:
        return self.start <= other.start and other.end <= self.end

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


@dataclass(frozen=True)
class Window:
    """One weekly availability row, as plain data."""

    weekday: int
    start: time
    end: time
    site_id: int
    service_id: int | None = None
    time_zone: str = "UTC"

    def serves(self, service_id: int | None) -> bool:
        return self.service_id is None or service_id is None or self.service_id == service_id


def days_between(start: date, end: date) -> Iterable[date]:
    """Every day of the inclusive range."""
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def open_spans(*, windows: Iterable[Window], start: date, end: date,
               leave: Iterable[Span] = (), holidays: Iterable[date] = (),
               service_id: int | None = None, site_id: int | None = None) -> list[Span]:
    """The clinician's available time between the inclusive dates `start`..`end`: weekly
    windows placed on each day in their site's zone (a window on a public holiday is
    dropped), cut by leave. Sorted, UTC-aware spans."""
    holidays = set(holidays)
    windows = [w for w in windows if w.serves(service_id)
               and (site_id is None or w.site_id == site_id)]
    spans = []
    for day in days_between(start, end):
        if day in holidays:
            continue
        for w in windows:
            if w.weekday != day.weekday():
                continue
            tz = ZoneInfo(w.time_zone)
            spans.append(Span(datetime.combine(day, w.start, tz), datetime.combine(day, w.end, tz)))
    return subtract(merge(spans), leave)


def merge(spans: Iterable[Span]) -> list[Span]:
    """Touching or overlapping spans joined (09:00-12:00 and 12:00-13:00 is 09:00-13:00)."""
    out: list[Span] = []
    for span in sorted(spans):
        if out and span.start <= out[-1].end:
            out[-1] = Span(out[-1].start, max(out[-1].end, span.end))
        else:
            out.append(span)
    return out


def subtract(spans: Iterable[Span], cuts: Iterable[Span]) -> list[Span]:
    """`spans` with every part covered by a cut removed."""
    out = list(spans)
    for cut in sorted(cuts):
        nxt = []
        for s in out:
            if not s.overlaps(cut):
                nxt.append(s)
                continue
            if s.start < cut.start:
                nxt.append(Span(s.start, cut.start))
            if cut.end < s.end:
                nxt.append(Span(cut.end, s.end))
        out = nxt
    return sorted(out)


def free_slots(*, spans: Iterable[Span], busy: Iterable[Span], minutes: int,
               not_before: datetime | None = None) -> list[Span]:
    """Slots of `minutes` inside `spans` that overlap no busy range and start no earlier than
    `not_before`. Packed from each span's start; a busy block moves the next candidate to
    its end."""
    length = timedelta(minutes=minutes)
    busy = sorted(busy)
    out = []
    for span in spans:
        cursor = span.start
        while cursor + length <= span.end:
            candidate = Span(cursor, cursor + length)
            clash = next((b for b in busy if b.overlaps(candidate)), None)
            if clash is not None:
                cursor = clash.end
                continue
            if not_before is None or candidate.start >= not_before:
                out.append(candidate)
            cursor = candidate.end
    return out


def within(spans: Iterable[Span], booking: Span) -> bool:
    """Whether the booking lies entirely inside one available span."""
    return any(s.contains(booking) for s in spans)


def overlapping(booking: Span, others: Iterable[Span]) -> bool:
    return any(booking.overlaps(o) for o in others)


def initials(first_name: str, last_name: str, fallback: str = "") -> str:
    """'Maya Patel' → 'M.P.': what the calendar feed shows instead of a name."""
    parts = [p for p in (first_name, last_name) if p and p.strip()]
    if not parts:
        return (fallback[:1].upper() + ".") if fallback else "?"
    return "".join(p.strip()[0].upper() + "." for p in parts)
