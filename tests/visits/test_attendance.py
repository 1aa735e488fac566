"""Attendance marking and completion (docs/product.md §3.3)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ipm.errors import Conflict, InvalidInput
from visits import services
from visits.completion import attendance_percent, has_completed
from visits.models import Attendance, Enrolment
from visits.tasks import complete_ended_series


@pytest.mark.parametrize(("attended", "held", "completed"), [
    (3, 4, True),    # exactly 75 %
    (6, 8, True),    # exactly 75 %
    (5, 7, False),   # 71.4 %: just under
    (74, 99, False),  # 74.7 %: floats would not matter here, fractions never do
    (3, 3, True),
    (0, 0, False),   # nothing held: nobody completes
    (0, 4, False),
])
def test_it_completes_at_75_percent_of_held_sessions(attended, held, completed):
    assert has_completed(attended=attended, held=held) is completed


def test_the_percentage_shown_never_rounds_up_to_the_threshold():
    assert attendance_percent(attended=749, held=1000) == 74
    assert attendance_percent(attended=0, held=0) is None


def test_the_task_has_its_beat_name():
    assert complete_ended_series.name == "visits.tasks.complete_ended_series"


def _past_series(make_series, n, *, capacity=8, days_ago=None):
    start = timezone.now() - timedelta(days=days_ago or 7 * n + 1)
    return make_series(capacity=capacity, start=start, n=n)


def _mark(series, patient, statuses, actor):
    sessions = list(series.sessions.filter(status="scheduled").order_by("starts_at"))
    for session, status in zip(sessions, statuses, strict=False):
        if status:
            services.attendance_mark(session=session, patient=patient, status=status, actor=actor)


@pytest.mark.django_db
def test_it_completes_exactly_75_percent_and_keeps_just_under_enrolled(
        make_series, make_patient, enrol, coordinator):
    series = _past_series(make_series, 8)
    boundary, under, nobody = make_patient(), make_patient(), make_patient()
    for p in (boundary, under, nobody):
        enrol(series, p)
    _mark(series, boundary, ["present"] * 6 + ["absent", "excused"], coordinator)   # 6/8
    _mark(series, under, ["present"] * 5 + ["late_cancel", "absent", None], coordinator)  # 5/8

    assert complete_ended_series() == 1

    status = dict(Enrolment.objects.filter(series=series).values_list("patient_id", "status"))
    assert status == {boundary.pk: "completed", under.pk: "enrolled", nobody.pk: "enrolled"}
    series.refresh_from_db()
    assert series.completed_at is not None


@pytest.mark.django_db
def test_cancelled_sessions_do_not_count_as_held(make_series, make_patient, enrol, coordinator):
    series = _past_series(make_series, 5)
    p = make_patient()
    enrol(series, p)
    services.session_cancel(session=series.sessions.order_by("starts_at").last(),
                            actor=coordinator)
    _mark(series, p, ["present", "present", "present", "absent"], coordinator)  # 3 of 4 held
    complete_ended_series()
    assert Enrolment.objects.get(series=series, patient=p).status == "completed"


@pytest.mark.django_db
def test_it_waits_until_the_last_session_is_over(make_series, make_patient, enrol, coordinator):
    start = timezone.now() - timedelta(weeks=1, minutes=30)  # last session still running
    series = make_series(capacity=4, start=start, n=2)
    p = make_patient()
    enrol(series, p)
    _mark(series, p, ["present", "present"], coordinator)
    assert complete_ended_series() == 0
    series.refresh_from_db()
    assert series.completed_at is None
    assert Enrolment.objects.get(series=series, patient=p).status == "enrolled"


@pytest.mark.django_db
def test_completion_runs_once_per_series(make_series, make_patient, enrol, coordinator):
    series = _past_series(make_series, 2)
    p = make_patient()
    enrol(series, p)
    assert complete_ended_series() == 1
    first = series.__class__.objects.get(pk=series.pk).completed_at
    assert complete_ended_series() == 0
    assert series.__class__.objects.get(pk=series.pk).completed_at == first


@pytest.mark.django_db
def test_late_marking_after_the_series_ended_updates_completion(make_series, make_patient,
                                                                enrol, coordinator):
    series = _past_series(make_series, 4)
    p = make_patient()
    enrol(series, p)
    _mark(series, p, ["present", "present"], coordinator)
    complete_ended_series()
    assert Enrolment.objects.get(series=series, patient=p).status == "enrolled"
    _mark(series, p, [None, None, "present"], coordinator)  # 3 of 4
    assert Enrolment.objects.get(series=series, patient=p).status == "completed"


@pytest.mark.django_db
def test_it_never_marks_attendance_by_itself(make_series, make_patient, enrol):
    series = _past_series(make_series, 3)
    enrol(series, make_patient())
    complete_ended_series()
    assert not Attendance.objects.exists()


@pytest.mark.django_db
def test_marking_again_changes_the_status(make_series, make_patient, enrol, coordinator, clinician):
    series = _past_series(make_series, 1)
    p = make_patient()
    enrol(series, p)
    session = series.sessions.get()
    services.attendance_mark(session=session, patient=p, status="absent", actor=coordinator)
    att = services.attendance_mark(session=session, patient=p, status="present", actor=clinician)
    assert Attendance.objects.get(session=session, patient=p).status == "present"
    assert att.marked_by == clinician and att.marked_at is not None


@pytest.mark.django_db
def test_it_refuses_unknown_statuses_strangers_and_cancelled_sessions(make_series, make_patient,
                                                                      enrol, coordinator):
    series = make_series(capacity=1, n=2)
    member, waiting, stranger = make_patient(), make_patient(), make_patient()
    enrol(series, member)
    enrol(series, waiting)
    first, second = series.sessions.order_by("starts_at")
    for status in ("unresolved", "here", ""):
        with pytest.raises(InvalidInput):
            services.attendance_mark(session=first, patient=member, status=status,
                                     actor=coordinator)
    for person in (waiting, stranger):
        with pytest.raises(InvalidInput):
            services.attendance_mark(session=first, patient=person, status="present",
                                     actor=coordinator)
    services.session_cancel(session=second, actor=coordinator)
    with pytest.raises(Conflict):
        services.attendance_mark(session=second, patient=member, status="present",
                                 actor=coordinator)
    assert not Attendance.objects.exists()


@pytest.mark.django_db
def test_an_ended_series_keeps_its_roster(make_series, make_patient, enrol, coordinator):
    series = _past_series(make_series, 2, capacity=1)
    member, waiting, late = make_patient(), make_patient(), make_patient()
    enrol(series, member)
    enrol(series, waiting)
    complete_ended_series()
    series.refresh_from_db()
    with pytest.raises(Conflict):
        enrol(series, late)
    with pytest.raises(Conflict):
        services.enrolment_withdraw(series=series, patient=member, actor=coordinator)
    with pytest.raises(Conflict):
        services.series_update_capacity(series=series, capacity=3, actor=coordinator)
    assert Enrolment.objects.get(series=series, patient=waiting).status == "waitlisted"
