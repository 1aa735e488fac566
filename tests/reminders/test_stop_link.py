"""The one-click stop link: no login; GET only shows a button (link prefetchers change
nothing), POST revokes consent, cancels pending patient reminders and tells the clinician."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from ipm.models import AuditEvent
from reminders.dispatch import dispatch_due
from reminders.models import Reminder
from reminders.services import reminder_schedule
from reminders.tokens import stop_token

pytestmark = pytest.mark.django_db

S, R, K = Reminder.Status, Reminder.Reason, Reminder.Kind


def url(patient):
    return f"/reminders/stop/{stop_token(patient.pk)}/"


@pytest.fixture
def anon():
    return Client(enforce_csrf_checks=True)


def post_with_csrf(client, path):
    page = client.get(path)
    token = page.cookies["csrftoken"].value
    return client.post(path, {"csrfmiddlewaretoken": token})


def test_it_shows_a_confirm_button_without_login_and_changes_nothing_on_get(anon, patient):
    r = anon.get(url(patient))
    assert r.status_code == 200
    assert b"Stop reminders" in r.content and b"<form method=\"post\">" in r.content
    assert r["Referrer-Policy"] == "same-origin"
    assert patient.family_name.encode() not in r.content  # a forwarded link shows no one
    patient.refresh_from_db()
    assert patient.consent_to_contact is True


def test_it_stops_reminders_on_post(anon, patient, clinician, group_session):
    clinician.email = "casey@clinic.example"
    clinician.save(update_fields=["email"])
    pending = reminder_schedule(kind=K.GROUP_SESSION, target_type="group_session",
                                target_id=group_session.pk, patient=patient, offset="48h",
                                scheduled_for=timezone.now() + timedelta(days=1))
    r = post_with_csrf(anon, url(patient))
    assert r.status_code == 200 and b"Reminders stopped" in r.content

    patient.refresh_from_db()
    assert patient.consent_to_contact is False
    assert patient.consent_revoked_at is not None
    assert "stopped_reminders" in patient.flags
    pending.refresh_from_db()
    assert (pending.status, pending.reason) == (S.CANCELLED, R.NO_CONSENT)

    notice = Reminder.objects.get(kind=K.CONSENT_REVOKED)
    assert notice.recipient_user == clinician and notice.patient == patient
    assert AuditEvent.objects.filter(action="consent.revoked", patient_id=patient.pk).exists()

    # The clinician's notice goes out on the next pass, by email, with a link, no detail.
    assert dispatch_due()["sent"] == 1
    [msg] = mail.outbox
    assert msg.to == ["casey@clinic.example"]
    assert f"/patients/{patient.pk}/" in msg.body
    assert patient.family_name not in msg.body


def test_it_keeps_staff_notifications_about_the_patient(anon, patient, clinician):
    alert_notice = reminder_schedule(kind=K.SAFETY_ALERT, target_type="safety_alert",
                                     target_id=1, patient=patient, recipient_user=clinician,
                                     scheduled_for=timezone.now() + timedelta(minutes=5))
    post_with_csrf(anon, url(patient))
    alert_notice.refresh_from_db()
    assert alert_notice.status == S.PENDING


def test_it_is_idempotent(anon, patient):
    post_with_csrf(anon, url(patient))
    first = Reminder.objects.filter(kind=K.CONSENT_REVOKED).count()
    r = anon.get(url(patient))
    assert b"already stopped" in r.content
    post_with_csrf(anon, url(patient))
    assert Reminder.objects.filter(kind=K.CONSENT_REVOKED).count() == first == 1


def test_it_notifies_the_clinical_lead_when_the_patient_has_no_clinician(anon, make_patient,
                                                                         coordinator):
    p = make_patient()
    p.clinician = None
    p.save(update_fields=["clinician"])
    p.program.clinical_lead = coordinator
    p.program.save(update_fields=["clinical_lead"])
    post_with_csrf(anon, url(p))
    assert Reminder.objects.get(kind=K.CONSENT_REVOKED).recipient_user == coordinator


@pytest.mark.parametrize("token", ["nonsense", "eyJwIjoxfQ:forged-signature"])
def test_it_refuses_a_forged_or_broken_token(anon, patient, token):
    r = anon.get(f"/reminders/stop/{token}/")
    assert r.status_code == 404 and b"not valid" in r.content
    r = anon.post(f"/reminders/stop/{token}/")
    assert r.status_code in (403, 404)  # CSRF or not valid: nothing changes either way
    patient.refresh_from_db()
    assert patient.consent_to_contact is True


def test_it_does_not_accept_a_token_signed_for_something_else(anon, patient):
    from django.core import signing

    other = signing.Signer(salt="something.else").sign_object({"p": patient.pk})
    assert anon.get(f"/reminders/stop/{other}/").status_code == 404


def test_it_requires_a_csrf_token_to_stop(anon, patient):
    r = anon.post(url(patient))
    assert r.status_code == 403
    patient.refresh_from_db()
    assert patient.consent_to_contact is True
