"""The follow-up schedule: which measures are due for a patient, and when (docs/product.md §3.4).

Pure Python (no ORM): the same rules drive the coordinator's worklist, the daily planning
of questionnaire links and the patient page.

Default schedule (docs/product.md §3.4), counted from the intake date:

    PEG, PHQ-9, GAD-7   at intake (week 0), 6, 12, 26 and 52 weeks (52 = annual pain review)
    PROMIS-29           at intake, 12, 26 and 52 weeks
    NPS                 at 12 and 52 weeks, and at discharge

Programs can change it (``outcomes.models.ScheduleRule``, editable in the Django admin).

Time points and their windows (days, relative to the due date; all inclusive):

    a response counts for a time point if answered from ``due - EARLY_DAYS`` up to
    ``due + OVERDUE_DAYS`` (so a questionnaire done a little early is not asked again);

    status   upcoming  : today < due - DUE_SOON_DAYS
             due       : due - DUE_SOON_DAYS <= today <= due + GRACE_DAYS
             overdue   : due + GRACE_DAYS < today <= due + OVERDUE_DAYS
             missed    : today > due + OVERDUE_DAYS (off the worklist: the next time point
                         takes over; follow-up completion metrics count it as missed)
             done      : a response counts for it (whatever the date)

Within the due/overdue window every response answered on or after the window's opening
counts (it cannot be later than today), which is what lets the worklist select due
patients in SQL (``outcomes.selectors``) with exactly this rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

EARLY_DAYS = 14
DUE_SOON_DAYS = 3
GRACE_DAYS = 7
OVERDUE_DAYS = 28

UPCOMING = "upcoming"
DUE = "due"
OVERDUE = "overdue"
MISSED = "missed"
DONE = "done"
ACTIONABLE = (DUE, OVERDUE)


@dataclass(frozen=True, order=True)
class Rule:
    """One time point: ``instrument`` due ``weeks`` after intake, or at discharge (weeks None)."""

    instrument: str
    weeks: int | None = None

    @property
    def at_discharge(self) -> bool:
        return self.weeks is None

    @property
    def label(self) -> str:
        if self.weeks is None:
            return "At discharge"
        return "Intake" if self.weeks == 0 else f"Week {self.weeks}"


def _rules(codes: Iterable[str], weeks: Iterable[int | None]) -> tuple[Rule, ...]:
    return tuple(Rule(code, week) for code in codes for week in weeks)


DEFAULT_SCHEDULE: tuple[Rule, ...] = (
    *_rules(("peg", "phq9", "gad7"), (0, 6, 12, 26, 52)),
    *_rules(("promis29",), (0, 12, 26, 52)),
    *_rules(("nps",), (12, 52, None)),
)


@dataclass(frozen=True)
class TimePoint:
    """A rule placed on the calendar for one patient, with its status on ``today``."""

    instrument: str
    weeks: int | None
    label: str
    due_date: date
    status: str
    answered_on: date | None = None

    @property
    def actionable(self) -> bool:
        return self.status in ACTIONABLE


def window(due: date) -> tuple[date, date]:
    """First and last day on which a response counts for a time point due on ``due``."""
    return due - timedelta(days=EARLY_DAYS), due + timedelta(days=OVERDUE_DAYS)


def status_on(due: date, today: date, answered_on: date | None) -> str:
    if answered_on is not None:
        return DONE
    if today < due - timedelta(days=DUE_SOON_DAYS):
        return UPCOMING
    if today <= due + timedelta(days=GRACE_DAYS):
        return DUE
    if today <= due + timedelta(days=OVERDUE_DAYS):
        return OVERDUE
    return MISSED


def time_points(
    *,
    intake_date: date | None,
    today: date,
    responses: Iterable[tuple[str, date]] = (),
    rules: Iterable[Rule] = DEFAULT_SCHEDULE,
    discharged_on: date | None = None,
) -> list[TimePoint]:
    """Every time point of the schedule for one patient, ordered by due date.

    ``responses`` are ``(instrument code, local date answered)`` pairs. Discharge rules
    appear only once ``discharged_on`` is known; week rules only once there is an intake date.
    """
    answered: dict[str, list[date]] = {}
    for code, day in responses:
        answered.setdefault(code, []).append(day)
    points = []
    for rule in rules:
        if rule.at_discharge:
            if discharged_on is None:
                continue
            due = discharged_on
        else:
            if intake_date is None:
                continue
            due = intake_date + timedelta(weeks=rule.weeks)
        start, end = window(due)
        hits = [day for day in answered.get(rule.instrument, ()) if start <= day <= end]
        answered_on = min(hits) if hits else None
        points.append(TimePoint(instrument=rule.instrument, weeks=rule.weeks, label=rule.label,
                                due_date=due, status=status_on(due, today, answered_on),
                                answered_on=answered_on))
    points.sort(key=lambda p: (p.due_date, p.instrument))
    return points


def measures_due(**kwargs) -> list[TimePoint]:
    """Only the time points a coordinator should act on today (due or overdue)."""
    return [point for point in time_points(**kwargs) if point.actionable]


def intake_range_for(weeks: int, today: date) -> tuple[date, date]:
    """Intake dates for which the week-``weeks`` time point is due or overdue on ``today``."""
    due_offset = timedelta(weeks=weeks)
    return (today - due_offset - timedelta(days=OVERDUE_DAYS),
            today - due_offset + timedelta(days=DUE_SOON_DAYS))


def discharge_range_for(today: date) -> tuple[date, date]:
    """Discharge dates for which an at-discharge time point is due or overdue on ``today``."""
    return today - timedelta(days=OVERDUE_DAYS), today + timedelta(days=DUE_SOON_DAYS)
