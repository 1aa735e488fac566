"""The outbox's write path: scheduling is idempotent by key, cancelling touches only what is
pending, resending is for failed/cancelled rows only and is audited."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ipm.errors import Conflict
from ipm.models import AuditEvent
from reminders.models import Reminder
from reminders.services import reminder_resend, reminder_schedule, reminders_cancel

pytestmark = pytest.mark.django_db

S, R, K = Reminder.Status, Reminder.Reason, Reminder.Kind


def session_row(patient, session_id=1, offset="48h", **kw):
    return reminder_schedule(kind=K.GROUP_SESSION, target_type="group_session",
                             target_id=session_id, patient=patient, offset=offset,
                             scheduled_for=kw.pop("when", timezone.now()), **kw)


def test_it_schedules_one_row_per_key(patient):
    first = session_row(patient)
    again = session_row(patient, when=timezone.now() + timedelta(hours=5))
    assert again.pk == first.pk
    assert Reminder.objects.count() == 1
    assert first.key == f"group_session:group_session:1:p{patient.pk}:48h"
    other_offset = session_row(patient, offset="2h")
    assert other_offset.pk != first.pk


def test_it_keys_staff_reminders_by_their_recipient(patient, clinician, coordinator):
    a = reminder_schedule(kind=K.SAFETY_ALERT, target_type="safety_alert", target_id=7,
                          patient=patient, recipient_user=clinician,
                          scheduled_for=timezone.now())
    b = reminder_schedule(kind=K.SAFETY_ALERT, target_type="safety_alert", target_id=7,
                          patient=patient, recipient_user=coordinator,
                          scheduled_for=timezone.now())
    assert a.pk != b.pk
    assert a.key.endswith(f":u{clinician.pk}:0")
    assert a.channel == "email"


def test_it_defaults_the_channel_to_the_patients_preference(make_patient):
    p = make_patient(preferred_channel="sms")
    assert session_row(p).channel == "sms"


def test_it_cancels_pending_reminders_of_a_cancelled_session(make_patient):
    a, b = make_patient(), make_patient()
    r1, r2 = session_row(a, 1), session_row(b, 1, offset="2h")
    other = session_row(a, 2)
    sent = session_row(b, 1)
    Reminder.objects.filter(pk=sent.pk).update(status=S.SENT)
    assert reminders_cancel(target_type="group_session", target_id=1) == 2
    for row in (r1, r2):
        row.refresh_from_db()
        assert (row.status, row.reason) == (S.CANCELLED, R.NO_LONGER_NEEDED)
    other.refresh_from_db()
    sent.refresh_from_db()
    assert other.status == S.PENDING and sent.status == S.SENT


def test_it_cancels_a_withdrawn_patients_reminders_for_every_session_of_the_series(
        make_patient):
    a, b = make_patient(), make_patient()
    mine = [session_row(a, 1), session_row(a, 2)]
    elsewhere = session_row(a, 9)
    theirs = session_row(b, 1)
    assert reminders_cancel(kind=K.GROUP_SESSION, target_ids=[1, 2], patient=a) == 2
    assert {r.status for r in Reminder.objects.filter(pk__in=[m.pk for m in mine])} == {S.CANCELLED}
    elsewhere.refresh_from_db()
    theirs.refresh_from_db()
    assert elsewhere.status == S.PENDING and theirs.status == S.PENDING


def test_it_cancels_questionnaire_reminders_when_the_link_is_answered(patient):
    rows = [reminder_schedule(kind=K.QUESTIONNAIRE_DUE, target_type="questionnaire_link",
                              target_id=5, patient=patient, offset=o,
                              scheduled_for=timezone.now() + timedelta(days=d))
            for o, d in (("0d", 0), ("3d", 3), ("7d", 7))]
    assert reminders_cancel(target_type="questionnaire_link", target_id=5) == 3
    assert {r.status for r in Reminder.objects.filter(pk__in=[r.pk for r in rows])} == {
        S.CANCELLED}


def test_it_resends_a_failed_reminder_and_audits_it(patient, coordinator):
    row = session_row(patient)
    Reminder.objects.filter(pk=row.pk).update(status=S.FAILED, reason=R.PROVIDER_ERROR,
                                              last_error="HTTP 500", attempts=5)
    before = timezone.now()
    row = reminder_resend(reminder=row, actor=coordinator)
    row.refresh_from_db()
    assert (row.status, row.reason, row.last_error, row.attempts) == (S.PENDING, "", "", 0)
    assert row.scheduled_for >= before
    event = AuditEvent.objects.get(action="reminder.resend")
    assert event.actor == coordinator and event.patient_id == patient.pk
    assert event.detail["previous"]["status"] == "failed"


@pytest.mark.parametrize("status", [S.SENT, S.PENDING, S.SENDING])
def test_it_refuses_to_resend_a_reminder_that_is_not_failed_or_cancelled(patient, coordinator,
                                                                         status):
    row = session_row(patient)
    Reminder.objects.filter(pk=row.pk).update(status=status)
    with pytest.raises(Conflict):
        reminder_resend(reminder=row.pk, actor=coordinator)
    row.refresh_from_db()
    assert row.status == status
