"""Quiet hours for patient SMS (docs/product.md §3.5): none between 21:00 and 08:00 in the patient's
own time zone; a message due then waits until 08:00 local. Pure: no ORM, no clock."""

import zoneinfo
from datetime import datetime, time, timedelta

DEFAULT_QUIET_HOURS = (21, 8)


def zone(name: str, fallback: str = "UTC") -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(fallback)


def in_quiet_hours(when: datetime, tz: str, quiet=DEFAULT_QUIET_HOURS) -> bool:
    start, end = quiet
    hour = when.astimezone(zone(tz)).hour
    return hour >= start or hour < end


def next_send_time(when: datetime, tz: str, quiet=DEFAULT_QUIET_HOURS) -> datetime:
    """`when` itself outside quiet hours; otherwise the end of the quiet period (08:00
    local) that `when` falls in, as an aware datetime. Works through DST changes because
    the result is built from the local calendar date, not by adding hours."""
    if not in_quiet_hours(when, tz, quiet):
        return when
    start, end = quiet
    tzinfo = zone(tz)
    local = when.astimezone(tzinfo)
    day = local.date() + timedelta(days=1) if local.hour >= start else local.date()
    return datetime.combine(day, time(end, 0), tzinfo=tzinfo)
