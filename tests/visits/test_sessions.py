"""Series and sessions: creation with defaults, the weekly helper, moving, adding and
cancelling sessions, and what that does to reminders."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from ipm.errors import Conflict, InvalidInput
from reminders.models import Reminder
from visits import services
from visits.recurrence import PlannedSession, weekly_sessions

LONDON = ZoneInfo("Europe/London")


def test_the_weekly_helper_keeps_local_time_across_a_clock_change():
    # 2026-03-29 is the spring clock change in London: 10:00 GMT, then 10:00 BST.
    first = datetime(2026, 3, 17, 10, 0, tzinfo=LONDON)
    plan = weekly_sessions(first_start=first, weeks=4, duration_minutes=90, tz=LONDON)
    assert [p.starts_at.astimezone(LONDON).strftime("%a %d %H:%M") for p in plan] == [
        "Tue 17 10:00", "Tue 24 10:00", "Tue 31 10:00", "Tue 07 10:00"]
    utc = ZoneInfo("UTC")
    assert (plan[2].starts_at.astimezone(utc) - plan[1].starts_at.astimezone(utc)
            == timedelta(days=7, hours=-1))
    assert {p.duration_minutes for p in plan} == {90}


@pytest.mark.parametrize("weeks,minutes", [(0, 90), (53, 90), (6, 0), (6, 481)])
def test_the_weekly_helper_refuses_out_of_range_plans(weeks, minutes):
    with pytest.raises(ValueError):
        weekly_sessions(first_start=datetime(2026, 1, 5, 10, tzinfo=LONDON), weeks=weeks,
                        duration_minutes=minutes, tz=LONDON)


@pytest.mark.django_db
def test_sessions_take_their_lead_and_facilitators_from_the_series(make_series, clinician,
                                                                   coordinator):
    series = make_series(capacity=5, n=3, facilitators=[coordinator])
    sessions = list(series.sessions.all())
    assert len(sessions) == 3
    assert {s.lead_clinician_id for s in sessions} == {clinician.pk}
    assert all([u.pk for u in s.facilitators.all()] == [coordinator.pk] for s in sessions)


@pytest.mark.django_db
def test_it_refuses_a_lead_who_is_not_a_clinician(make_series, coordinator):
    with pytest.raises(InvalidInput) as exc:
        make_series(lead=coordinator)
    assert "lead_clinician" in exc.value.errors


@pytest.mark.django_db
def test_cancelling_a_session_cancels_its_pending_reminders(make_series, make_patient, enrol,
                                                            coordinator):
    series = make_series(capacity=3, n=2)
    a, b = make_patient(), make_patient()
    enrol(series, a)
    enrol(series, b)
    first, second = series.sessions.order_by("starts_at")

    services.session_cancel(session=first, actor=coordinator)

    first.refresh_from_db()
    assert first.status == "cancelled" and first.cancelled_at is not None
    assert set(Reminder.objects.filter(target_id=first.pk).values_list("status", flat=True)) == {
        "cancelled"}
    assert Reminder.objects.filter(target_id=first.pk, reason="no_longer_needed").count() == 4
    assert set(Reminder.objects.filter(target_id=second.pk).values_list("status", flat=True)) == {
        "pending"}
    with pytest.raises(Conflict):
        services.session_cancel(session=first, actor=coordinator)


@pytest.mark.django_db
def test_it_refuses_to_cancel_a_session_whose_attendance_was_marked(make_series, make_patient,
                                                                   enrol, coordinator):
    series = make_series(capacity=3, start=timezone.now() - timedelta(hours=3), n=2)
    p = make_patient()
    enrol(series, p)
    session = series.sessions.order_by("starts_at").first()
    services.attendance_mark(session=session, patient=p, status="present", actor=coordinator)
    with pytest.raises(Conflict):
        services.session_cancel(session=session, actor=coordinator)


@pytest.mark.django_db
def test_moving_a_session_moves_its_pending_reminders(make_series, make_patient, enrol,
                                                      coordinator):
    series = make_series(capacity=3, n=1)
    p = make_patient()
    enrol(series, p)
    session = series.sessions.get()
    new_start = session.starts_at + timedelta(days=2, hours=1)

    services.session_update(session=session, starts_at=new_start, actor=coordinator)

    rows = Reminder.objects.filter(target_id=session.pk, patient=p, status="pending")
    assert sorted(r.scheduled_for for r in rows) == [new_start - timedelta(hours=48),
                                                     new_start - timedelta(hours=2)]


@pytest.mark.django_db
def test_moving_a_session_to_within_two_days_drops_the_48h_reminder(make_series, make_patient,
                                                                    enrol, coordinator):
    series = make_series(capacity=3, n=1)
    p = make_patient()
    enrol(series, p)
    session = series.sessions.get()
    soon = timezone.now() + timedelta(hours=20)
    services.session_update(session=session, starts_at=soon, actor=coordinator)
    pending = list(Reminder.objects.filter(target_id=session.pk, status="pending"))
    assert [r.scheduled_for for r in pending] == [soon - timedelta(hours=2)]


@pytest.mark.django_db
def test_added_sessions_get_reminders_for_the_people_enrolled(make_series, make_patient, enrol,
                                                              coordinator):
    series = make_series(capacity=3, n=1)
    p = make_patient()
    enrol(series, p)
    start = timezone.now() + timedelta(days=30)
    added = services.sessions_add(series=series, sessions=[PlannedSession(start, 60)],
                                  actor=coordinator)
    assert Reminder.objects.filter(target_id=added[0].pk, patient=p, status="pending").count() == 2


@pytest.mark.django_db
def test_no_reminder_is_scheduled_in_the_past(make_series, make_patient, enrol):
    series = make_series(capacity=3, start=timezone.now() + timedelta(hours=1), n=1)
    p = make_patient()
    enrol(series, p)
    assert not Reminder.objects.filter(patient=p).exists()
