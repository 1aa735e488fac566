"""The coordinator's outbox page: filters, failed rows with their error, resend."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from ipm.models import AuditEvent
from reminders.models import Reminder
from reminders.services import reminder_schedule

pytestmark = pytest.mark.django_db

S, R, K = Reminder.Status, Reminder.Reason, Reminder.Kind


def logged_in(user):
    c = Client()
    c.force_login(user)
    return c


def row(patient, offset, status=S.PENDING, kind=K.GROUP_SESSION, **update):
    r = reminder_schedule(kind=kind, target_type="x", target_id=1, patient=patient,
                          offset=offset, scheduled_for=timezone.now() - timedelta(hours=1))
    Reminder.objects.filter(pk=r.pk).update(status=status, **update)
    return r


def test_it_shows_failed_rows_with_their_error(coordinator, patient):
    row(patient, "a", S.FAILED, reason=R.PROVIDER_ERROR,
        last_error="SMS provider answered HTTP 500", attempts=5)
    row(patient, "b", S.SENT)
    r = logged_in(coordinator).get("/reminders/?status=failed")
    assert r.status_code == 200
    html = r.content.decode()
    assert "SMS provider answered HTTP 500" in html and "Provider error" in html
    assert patient.full_name in html
    assert html.count('id="reminder-') == 1
    assert "Resend" in html


@pytest.mark.parametrize(("query", "expected"), [
    ("kind=questionnaire_due", {"q"}),
    ("reason=no_consent", {"c"}),
    ("status=sent", {"s"}),
    ("", {"q", "c", "s"}),
    ("status=bogus", {"q", "c", "s"}),  # unknown values are ignored, not an error page
])
def test_it_filters_by_kind_reason_and_status(coordinator, patient, query, expected):
    rows = {"q": row(patient, "q", kind=K.QUESTIONNAIRE_DUE),
            "c": row(patient, "c", S.CANCELLED, reason=R.NO_CONSENT),
            "s": row(patient, "s", S.SENT)}
    html = logged_in(coordinator).get(f"/reminders/?{query}").content.decode()
    shown = {name for name, r in rows.items() if f'id="reminder-{r.pk}"' in html}
    assert shown == expected


def test_it_filters_by_patient_id_or_mrn(coordinator, make_patient):
    a, b = make_patient(), make_patient()
    ra, rb = row(a, "a"), row(b, "b")
    for value in (a.pk, a.mrn):
        html = logged_in(coordinator).get(f"/reminders/?patient={value}").content.decode()
        assert f'id="reminder-{ra.pk}"' in html and f'id="reminder-{rb.pk}"' not in html


def test_it_resends_from_the_page_and_keeps_the_filters(coordinator, patient):
    failed = row(patient, "f", S.FAILED, reason=R.NO_ADDRESS)
    c = logged_in(coordinator)
    r = c.post(f"/reminders/{failed.pk}/resend/", {"next": "/reminders/?status=failed"},
               follow=True)
    assert r.redirect_chain[-1][0] == "/reminders/?status=failed"
    assert "pending again" in r.content.decode()
    failed.refresh_from_db()
    assert failed.status == S.PENDING
    assert AuditEvent.objects.filter(action="reminder.resend", actor=coordinator).exists()


def test_it_explains_why_a_sent_row_cannot_be_resent(coordinator, patient):
    sent = row(patient, "s", S.SENT)
    r = logged_in(coordinator).post(f"/reminders/{sent.pk}/resend/", follow=True)
    assert "Only failed or cancelled reminders can be resent" in r.content.decode()
    sent.refresh_from_db()
    assert sent.status == S.SENT


def test_it_does_not_redirect_off_site_after_resend(coordinator, patient):
    failed = row(patient, "f", S.FAILED)
    r = logged_in(coordinator).post(f"/reminders/{failed.pk}/resend/",
                                    {"next": "https://evil.example/"})
    assert r["Location"] == "/reminders/"


def test_it_lets_clinicians_in_and_keeps_admins_out(clinician, admin_user, patient):
    failed = row(patient, "f", S.FAILED)
    assert logged_in(clinician).get("/reminders/").status_code == 200
    assert logged_in(admin_user).get("/reminders/").status_code == 403
    assert logged_in(admin_user).post(f"/reminders/{failed.pk}/resend/").status_code == 403
    failed.refresh_from_db()
    assert failed.status == S.FAILED


def test_it_audits_the_page_of_patients_shown(coordinator, patient):
    row(patient, "a")
    logged_in(coordinator).get("/reminders/")
    event = AuditEvent.objects.filter(action="list", object_type="reminders.reminder").latest("at")
    assert event.patient_id == patient.pk and event.actor == coordinator


def test_it_renders_in_a_constant_number_of_queries(coordinator, make_patient,
                                                    django_assert_max_num_queries):
    c = logged_in(coordinator)
    for i in range(3):
        row(make_patient(), f"a{i}", S.FAILED)
    with django_assert_max_num_queries(20) as few:
        c.get("/reminders/")
    for i in range(12):
        row(make_patient(), f"b{i}", S.SENT)
    with django_assert_max_num_queries(20) as many:
        c.get("/reminders/")
    assert len(few.captured_queries) == len(many.captured_queries)


def test_it_counts_rows_per_status_under_the_other_filters(coordinator, make_patient):
    a, b = make_patient(), make_patient()
    row(a, "1", S.FAILED)
    row(a, "2", S.SENT)
    row(b, "3", S.FAILED)
    r = logged_in(coordinator).get(f"/reminders/?patient={a.pk}&status=sent")
    tabs = {value: n for value, _label, n in r.context["status_tabs"]}
    assert tabs["failed"] == 1 and tabs["sent"] == 1 and tabs["pending"] == 0
