"""Enrolment, the waitlist, withdrawal and promotion (docs/product.md §3.3), through the services."""

import pytest

from ipm.errors import Conflict, NotFound
from reminders.models import Reminder
from visits import services
from visits.models import Enrolment

pytestmark = pytest.mark.django_db


def _reminders(patient, status=Reminder.Status.PENDING):
    return Reminder.objects.filter(patient=patient, kind="group_session", status=status)


def test_it_enrols_until_full_then_waitlists_in_order(make_series, make_patient, enrol):
    series = make_series(capacity=2)
    people = [make_patient() for _ in range(5)]
    results = [enrol(series, p) for p in people]
    assert [e.status for e in results] == ["enrolled", "enrolled", "waitlisted", "waitlisted",
                                          "waitlisted"]
    assert [services.waitlist_position(e) for e in results] == [None, None, 1, 2, 3]


def test_it_refuses_a_second_enrolment_of_the_same_person(make_series, make_patient, enrol):
    series = make_series(capacity=1)
    first, second = make_patient(), make_patient()
    enrol(series, first)
    enrol(series, second)  # waitlisted
    for person in (first, second):
        with pytest.raises(Conflict):
            enrol(series, person)
    assert Enrolment.objects.filter(series=series).count() == 2


def test_it_schedules_48h_and_2h_reminders_for_each_future_session(make_series, make_patient,
                                                                    enrol):
    series = make_series(capacity=2, n=3)
    patient = make_patient(channel="sms")
    enrol(series, patient)
    rows = list(_reminders(patient).order_by("scheduled_for"))
    assert len(rows) == 6
    sessions = list(series.sessions.order_by("starts_at"))
    expected = sorted([s.starts_at - h for s in sessions
                       for h in (services.session_reminders.OFFSETS[0][1],
                                 services.session_reminders.OFFSETS[1][1])])
    assert [r.scheduled_for for r in rows] == expected
    assert {r.channel for r in rows} == {"sms"}
    assert {r.target_type for r in rows} == {"group_session"}
    assert {r.target_id for r in rows} == {s.pk for s in sessions}


def test_it_schedules_no_reminders_for_people_who_chose_no_channel(make_series, make_patient,
                                                                   enrol):
    series = make_series(capacity=2)
    patient = make_patient(channel="none")
    enrol(series, patient)
    assert not Reminder.objects.filter(patient=patient).exists()


def test_it_schedules_no_reminders_for_the_waitlisted(make_series, make_patient, enrol):
    series = make_series(capacity=1)
    enrol(series, make_patient())
    waiting = make_patient()
    enrol(series, waiting)
    assert not Reminder.objects.filter(patient=waiting).exists()


def test_it_promotes_the_first_waitlisted_on_withdrawal_and_schedules_their_reminders(
        make_series, make_patient, enrol, coordinator):
    series = make_series(capacity=2, n=4)
    a, b, c, d = (make_patient() for _ in range(4))
    for p in (a, b, c, d):
        enrol(series, p)
    assert not _reminders(c).exists()

    withdrawn, promoted = services.enrolment_withdraw(series=series, patient=a, actor=coordinator)

    assert withdrawn.status == "withdrawn"
    assert promoted.patient == c
    assert promoted.status == "enrolled"
    assert _reminders(c).count() == 8
    assert _reminders(a).count() == 0
    assert Reminder.objects.filter(patient=a, status="cancelled").count() == 8
    d_row = Enrolment.objects.get(series=series, patient=d)
    assert services.waitlist_position(d_row) == 1


def test_it_does_not_promote_when_a_waitlisted_person_withdraws(make_series, make_patient,
                                                                enrol, coordinator):
    series = make_series(capacity=1)
    a, b, c = (make_patient() for _ in range(3))
    for p in (a, b, c):
        enrol(series, p)
    _, promoted = services.enrolment_withdraw(series=series, patient=b, actor=coordinator)
    assert promoted is None
    assert services.waitlist_position(Enrolment.objects.get(series=series, patient=c)) == 1
    assert Enrolment.objects.get(series=series, patient=a).status == "enrolled"


def test_it_reuses_the_row_when_a_withdrawn_person_enrols_again(make_series, make_patient,
                                                                enrol, coordinator):
    series = make_series(capacity=1, n=2)
    a, b = make_patient(), make_patient()
    first = enrol(series, a)
    enrol(series, b)
    services.enrolment_withdraw(series=series, patient=a, actor=coordinator)  # b promoted
    again = enrol(series, a)
    assert again.pk == first.pk
    assert again.status == "waitlisted"
    assert services.waitlist_position(again) == 1
    services.enrolment_withdraw(series=series, patient=b, actor=coordinator)  # a promoted
    again.refresh_from_db()
    assert again.status == "enrolled"
    # The reminders cancelled at the first withdrawal are armed again.
    assert _reminders(a).count() == 4


def test_it_refuses_to_withdraw_someone_not_enrolled(make_series, make_patient, enrol,
                                                     coordinator):
    series = make_series(capacity=1)
    stranger, leaver = make_patient(), make_patient()
    with pytest.raises(NotFound):
        services.enrolment_withdraw(series=series, patient=stranger, actor=coordinator)
    enrol(series, leaver)
    services.enrolment_withdraw(series=series, patient=leaver, actor=coordinator)
    with pytest.raises(Conflict):
        services.enrolment_withdraw(series=series, patient=leaver, actor=coordinator)


def test_raising_capacity_promotes_waitlisted_people_in_order(make_series, make_patient, enrol,
                                                             coordinator):
    series = make_series(capacity=1)
    people = [make_patient() for _ in range(4)]
    for p in people:
        enrol(series, p)
    services.series_update_capacity(series=series, capacity=3, actor=coordinator)
    statuses = {e.patient_id: e.status for e in Enrolment.objects.filter(series=series)}
    assert [statuses[p.pk] for p in people] == ["enrolled", "enrolled", "enrolled", "waitlisted"]


def test_it_refuses_capacity_below_the_people_already_enrolled(make_series, make_patient,
                                                               enrol, coordinator):
    from ipm.errors import InvalidInput

    series = make_series(capacity=3)
    for _ in range(3):
        enrol(series, make_patient())
    with pytest.raises(InvalidInput):
        services.series_update_capacity(series=series, capacity=2, actor=coordinator)


def test_it_audits_enrolment_and_withdrawal(make_series, make_patient, enrol, coordinator):
    from ipm.models import AuditEvent

    series = make_series(capacity=1)
    p = make_patient()
    enrol(series, p)
    services.enrolment_withdraw(series=series, patient=p, actor=coordinator)
    actions = list(AuditEvent.objects.filter(patient_id=p.pk).values_list("action", flat=True))
    assert "enrol" in actions and "withdraw" in actions
