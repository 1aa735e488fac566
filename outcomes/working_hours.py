"""Working hours for safety-alert escalation (docs/product.md §3.4): pure Python, no ORM.

A working day is Monday to Friday, ``day = (start_hour, end_hour)`` in the program's time
zone (settings.IPM_WORKING_HOURS, default 08:00-18:00). Public holidays are not modelled:
a holiday counts as a working day, which errs on the side of escalating sooner.

Times are aware datetimes; wall-clock hours are built in the program's zone, so a working
day that spans a daylight-saving change still runs from 08:00 to 18:00 local time.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MONDAY_TO_FRIDAY = frozenset(range(5))


def _require_aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("working-hours arithmetic needs aware datetimes")


def _day_bounds(day: date, tz: ZoneInfo, hours: tuple[int, int]) -> tuple[datetime, datetime]:
    return (datetime.combine(day, time(hours[0]), tzinfo=tz),
            datetime.combine(day, time(hours[1]), tzinfo=tz))


def working_seconds_between(start: datetime, end: datetime, tz: ZoneInfo,
                            hours: tuple[int, int] = (8, 18)) -> float:
    """Seconds of working time in ``[start, end)`` (0 when ``end <= start``)."""
    _require_aware(start, end)
    if end <= start:
        return 0.0
    total = 0.0
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while day <= last:
        if day.weekday() in MONDAY_TO_FRIDAY:
            open_, close = _day_bounds(day, tz, hours)
            lo, hi = max(start, open_), min(end, close)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def working_hours_between(start: datetime, end: datetime, tz: ZoneInfo,
                          hours: tuple[int, int] = (8, 18)) -> float:
    return working_seconds_between(start, end, tz, hours) / 3600


def add_working_hours(start: datetime, amount: float, tz: ZoneInfo,
                      hours: tuple[int, int] = (8, 18)) -> datetime:
    """The moment ``amount`` working hours after ``start`` (in ``tz``'s working days).

    An alert opened on Friday at 17:00 with 4 working hours to go is due on Monday at 11:00;
    one opened at 22:00 on a Tuesday is due on Wednesday at 12:00.
    """
    _require_aware(start)
    if amount < 0:
        raise ValueError("amount must be >= 0")
    remaining = timedelta(hours=amount)
    day = start.astimezone(tz).date()
    # A working week holds 5 x (end - start) hours; bound the walk generously.
    for _ in range(int(amount // max(hours[1] - hours[0], 1)) * 2 + 14):
        if day.weekday() in MONDAY_TO_FRIDAY:
            open_, close = _day_bounds(day, tz, hours)
            lo = max(start, open_)
            if close > lo:
                if lo + remaining <= close:
                    return (lo + remaining).astimezone(start.tzinfo)
                remaining -= close - lo
        day += timedelta(days=1)
    raise AssertionError("unreachable: the walk covers every working day needed")
