"""The working calendar behind every "working hours" rule (docs/product.md §6, §3.4): pure
Python, no ORM.

A program works the hours it sets per weekday (``{"mon": ["09:00", "17:00"], ..., "sun":
null}``) in its time zone, except on the public holidays of its country and region (the
maintained ``holidays`` library). In ``24_7`` escalation mode every clock hour counts.

Times are aware datetimes; wall-clock hours are built in the program's zone, so a working
day that spans a daylight-saving change still runs from its opening to its closing time.

Callers without a program may still pass a bare time zone and ``hours=(start, end)``: that
is Monday to Friday at those whole hours with no holidays (the former fixed rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONDAY_TO_FRIDAY = frozenset(range(5))


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class WorkingCalendar:
    """When a program is at work. ``week[weekday]`` is ``(open, close)`` or None (closed);
    ``holidays`` answers ``date in holidays``; ``always`` makes every hour count."""

    tz: ZoneInfo
    week: tuple = ((time(8), time(18)),) * 5 + (None, None)
    holidays: object = field(default_factory=frozenset)
    always: bool = False

    @classmethod
    def from_settings(cls, *, time_zone: str, working_hours: dict | None, holiday_country: str = "",
                      holiday_region: str = "", always: bool = False) -> WorkingCalendar:
        hours = working_hours or {}
        week = tuple((_hhmm(hours[d][0]), _hhmm(hours[d][1])) if hours.get(d) else None
                     for d in WEEKDAYS)
        return cls(tz=ZoneInfo(time_zone), week=week, always=always,
                   holidays=public_holidays(holiday_country, holiday_region))

    def bounds(self, day: date) -> tuple[datetime, datetime] | None:
        """Opening and closing moments of ``day`` (None when closed: weekend or holiday)."""
        if self.always:
            return (datetime.combine(day, time(0), tzinfo=self.tz).astimezone(UTC),
                    datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz).astimezone(UTC))
        hours = self.week[day.weekday()]
        if hours is None or day in self.holidays:
            return None
        # In UTC, so arithmetic counts real hours (aware datetimes sharing one zone would
        # subtract as wall-clock times).
        return (datetime.combine(day, hours[0], tzinfo=self.tz).astimezone(UTC),
                datetime.combine(day, hours[1], tzinfo=self.tz).astimezone(UTC))

    @property
    def has_working_time(self) -> bool:
        return self.always or any(self.week)

    @property
    def shortest_day_hours(self) -> float:
        if self.always:
            return 24.0
        spans = [(datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds()
                 for a, b in (w for w in self.week if w)]
        return max(min(spans, default=86400) / 3600, 1 / 60)


def public_holidays(country: str, region: str = ""):
    """The public holidays of ``country`` (ISO 3166) and ``region`` (its subdivision code),
    a lazy date container filled year by year; empty when no country is set."""
    if not country:
        return frozenset()
    return holidays.country_holidays(country, subdiv=region or None)


def _calendar(tz_or_calendar, hours) -> WorkingCalendar:
    if isinstance(tz_or_calendar, WorkingCalendar):
        return tz_or_calendar
    start, end = hours or (8, 18)
    day = (time(start), time(end))
    return WorkingCalendar(tz=tz_or_calendar, week=(day,) * 5 + (None, None))


def _require_aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("working-hours arithmetic needs aware datetimes")


def working_seconds_between(start: datetime, end: datetime, tz, hours: tuple[int, int] | None = None
                            ) -> float:
    """Seconds of working time in ``[start, end)`` (0 when ``end <= start``). ``tz`` is a
    WorkingCalendar, or a bare zone with Monday-to-Friday ``hours``."""
    _require_aware(start, end)
    cal = _calendar(tz, hours)
    if end <= start:
        return 0.0
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = 0.0
    day = start.astimezone(cal.tz).date()
    last = end.astimezone(cal.tz).date()
    while day <= last:
        bounds = cal.bounds(day)
        if bounds is not None:
            lo, hi = max(start, bounds[0]), min(end, bounds[1])
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def working_hours_between(start: datetime, end: datetime, tz,
                          hours: tuple[int, int] | None = None) -> float:
    return working_seconds_between(start, end, tz, hours) / 3600


def add_working_hours(start: datetime, amount: float, tz,
                      hours: tuple[int, int] | None = None) -> datetime:
    """The moment ``amount`` working hours after ``start``.

    With Mon-Fri 08:00-18:00, an alert opened on Friday at 17:00 with 4 working hours to go
    is due on Monday at 11:00 (Tuesday if Monday is a public holiday); one opened at 22:00
    on a Tuesday is due on Wednesday at 12:00.
    """
    _require_aware(start)
    if amount < 0:
        raise ValueError("amount must be >= 0")
    cal = _calendar(tz, hours)
    if not cal.has_working_time:
        raise ValueError("the calendar has no working hours on any day")
    remaining = timedelta(hours=amount)
    zone, start = start.tzinfo, start.astimezone(UTC)
    day = start.astimezone(cal.tz).date()
    # Bound the walk: closed days and a year of holidays cannot outlast this.
    for _ in range(int(amount / cal.shortest_day_hours) * 2 + 400):
        bounds = cal.bounds(day)
        if bounds is not None:
            open_, close = bounds
            lo = max(start, open_)
            if close > lo:
                if lo + remaining <= close:
                    return (lo + remaining).astimezone(zone)
                remaining -= close - lo
        day += timedelta(days=1)
    raise AssertionError("unreachable: the walk covers every working day needed")


def program_calendar(program, *, for_escalation: bool = True) -> WorkingCalendar:
    """The calendar of a program (reads its settings only, no query): its time zone, hours
    per weekday and public holidays; every hour in ``24_7`` escalation mode."""
    always = for_escalation and getattr(program, "escalation_mode", "") == "24_7"
    return WorkingCalendar.from_settings(
        time_zone=program.time_zone, working_hours=program.working_hours,
        holiday_country=program.holiday_country, holiday_region=program.holiday_region,
        always=always)
