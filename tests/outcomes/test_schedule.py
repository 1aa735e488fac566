from datetime import date, timedelta

import pytest

from outcomes import schedule
from outcomes.schedule import DEFAULT_SCHEDULE, Rule, measures_due, time_points

INTAKE = date(2026, 1, 5)


def week(n: int, plus_days: int = 0) -> date:
    return INTAKE + timedelta(weeks=n, days=plus_days)


def statuses(today, responses=(), **kw):
    return {(p.instrument, p.weeks): p.status
            for p in time_points(intake_date=INTAKE, today=today, responses=responses, **kw)}


def test_it_follows_the_default_schedule_of_the_spec():
    weeks = {}
    for rule in DEFAULT_SCHEDULE:
        weeks.setdefault(rule.instrument, []).append(rule.weeks)
    assert weeks == {"peg": [0, 6, 12, 26, 52], "phq9": [0, 6, 12, 26, 52],
                     "gad7": [0, 6, 12, 26, 52], "promis29": [0, 12, 26, 52],
                     "nps": [12, 52, None]}


@pytest.mark.parametrize(("today", "status"), [
    (week(6, -4), "upcoming"),
    (week(6, -3), "due"),
    (week(6), "due"),
    (week(6, 7), "due"),
    (week(6, 8), "overdue"),
    (week(6, 28), "overdue"),
    (week(6, 29), "missed"),
])
def test_it_moves_a_time_point_from_upcoming_to_due_to_overdue_to_missed(today, status):
    assert statuses(today)[("peg", 6)] == status


@pytest.mark.parametrize(("answered", "done"), [
    (week(6, -15), False),   # too early: that was the intake questionnaire's time
    (week(6, -14), True),
    (week(6, 20), True),
    (week(6, 28), True),
])
def test_it_counts_a_response_inside_the_window(answered, done):
    got = statuses(week(6, 28), responses=[("peg", answered)])[("peg", 6)]
    assert (got == "done") is done


def test_it_lists_only_what_needs_action_today():
    today = week(12, 1)
    due = measures_due(intake_date=INTAKE, today=today,
                       responses=[("peg", week(12)), ("promis29", week(11))])
    assert {(p.instrument, p.weeks) for p in due} == {("phq9", 12), ("gad7", 12), ("nps", 12)}
    assert all(p.status == "due" for p in due)


def test_it_adds_the_discharge_nps_once_the_patient_is_discharged():
    today = week(20)
    assert ("nps", None) not in statuses(today)
    got = statuses(today, discharged_on=week(19, 5))
    assert got[("nps", None)] == "due"
    got = statuses(today, responses=[("nps", week(19, 6))], discharged_on=week(19, 5))
    assert got[("nps", None)] == "done"


def test_it_needs_an_intake_date_for_week_rules():
    assert time_points(intake_date=None, today=INTAKE) == []


def test_it_uses_a_programs_own_rules():
    rules = (Rule("peg", 4),)
    due = measures_due(intake_date=INTAKE, today=week(4), rules=rules)
    assert [(p.instrument, p.label) for p in due] == [("peg", "Week 4")]


def test_it_gives_the_sql_ranges_that_match_the_statuses():
    today = date(2026, 6, 15)
    lo, hi = schedule.intake_range_for(12, today)
    for intake in (lo, hi):
        got = time_points(intake_date=intake, today=today, rules=(Rule("peg", 12),))[0].status
        assert got in ("due", "overdue")
    for intake in (lo - timedelta(days=1), hi + timedelta(days=1)):
        got = time_points(intake_date=intake, today=today, rules=(Rule("peg", 12),))[0].status
        assert got not in ("due", "overdue")
