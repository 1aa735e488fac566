"""The weekly-recurrence helper for group sessions (pure, no ORM).

A weekly group keeps its wall-clock time: a Tuesday 10:00 group stays at 10:00 local time
across a daylight-saving change, so the dates are computed in the program's time zone.
Python's aware-datetime arithmetic with zoneinfo is wall-clock arithmetic, which is what
we want here (the UTC offset is recomputed for each date).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

MAX_WEEKS = 52
MAX_DURATION_MINUTES = 8 * 60


@dataclass(frozen=True)
class PlannedSession:
    starts_at: datetime
    duration_minutes: int


def weekly_sessions(*, first_start: datetime, weeks: int, duration_minutes: int,
                    tz: tzinfo) -> list[PlannedSession]:
    """`weeks` sessions, one week apart, starting at `first_start`, each lasting
    `duration_minutes`. `first_start` must be timezone-aware."""
    if first_start.tzinfo is None:
        raise ValueError("first_start must be timezone-aware")
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be between 1 and {MAX_WEEKS}")
    if not 1 <= duration_minutes <= MAX_DURATION_MINUTES:
        raise ValueError(f"duration_minutes must be between 1 and {MAX_DURATION_MINUTES}")
    local_first = first_start.astimezone(tz)
    return [PlannedSession(starts_at=local_first + timedelta(weeks=i),
                           duration_minutes=duration_minutes) for i in range(weeks)]
