"""A coordinator finds a failed reminder in the outbox, reads its error and resends it; a
patient opens the stop link from a message on a phone and stops reminders, and the
outbox shows their pending reminder cancelled for lack of consent."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from reminders.models import Reminder
from reminders.services import reminder_schedule
from reminders.tokens import stop_token
from tests.conftest import make_user


@pytest.fixture
def coordinator_user(transactional_db):
    return make_user("corey", "coordinator")


@pytest.fixture
def outbox(coordinator_user):
    from patients.services import patient_create

    # The responsible clinician must be a clinician (docs/product.md §6); the coordinator manages care.
    clinician = make_user("dr_cole", "clinician")

    def patient(mrn, family):
        return patient_create(mrn=mrn, given_name="Sam", family_name=family,
                              birth_date=date(1970, 5, 1), email=f"{mrn.lower()}@example.org",
                              consent_to_contact=True, clinician=clinician,
                              care_manager=coordinator_user)

    sam, alex = patient("E2E-R1", "Okafor"), patient("E2E-R2", "Lindqvist")
    failed = reminder_schedule(kind="group_session", target_type="group_session", target_id=1,
                               patient=sam, offset="2h", channel="sms",
                               scheduled_for=timezone.now() - timedelta(hours=2))
    Reminder.objects.filter(pk=failed.pk).update(
        status="failed", reason="provider_error", attempts=5,
        last_error="SMS provider answered HTTP 500")
    sent = reminder_schedule(kind="questionnaire_due", target_type="questionnaire_link",
                             target_id=1, patient=alex, offset="0d",
                             scheduled_for=timezone.now() - timedelta(days=1))
    Reminder.objects.filter(pk=sent.pk).update(status="sent", sent_at=timezone.now(),
                                               attempts=1, provider_message_id="abc@ipm.local")
    pending = reminder_schedule(kind="questionnaire_due", target_type="questionnaire_link",
                                target_id=2, patient=alex, offset="3d",
                                scheduled_for=timezone.now() + timedelta(days=3))
    return {"sam": sam, "alex": alex, "failed": failed, "pending": pending}


def test_it_lets_a_coordinator_resend_a_failed_reminder_and_a_patient_stop_reminders(
        page, phone_page, login_as, coordinator_user, outbox, screenshot):
    login_as(coordinator_user)
    page.get_by_role("link", name="Reminders").first.click()
    expect(page.get_by_role("heading", name="Reminder outbox")).to_be_visible()

    page.get_by_label("Status", exact=True).select_option("failed")
    page.get_by_role("button", name="Filter").click()
    row = page.locator(f"#reminder-{outbox['failed'].pk}")
    expect(row).to_contain_text("Sam Okafor")
    expect(row).to_contain_text("SMS provider answered HTTP 500")
    expect(row).to_contain_text("Provider error")
    expect(page.locator(f"#reminder-{outbox['pending'].pk}")).to_have_count(0)
    screenshot("reminders-outbox-failed")

    row.get_by_role("button", name="Resend").click()
    expect(page.get_by_role("alert")).to_contain_text("pending again")
    expect(page).to_have_url(re.compile(r"/reminders/\?status=failed"))
    expect(page.locator(f"#reminder-{outbox['failed'].pk}")).to_have_count(0)

    # The patient opens the stop link from one of their messages, on a phone.
    phone_page.goto(f"/reminders/stop/{stop_token(outbox['alex'].pk)}/")
    expect(phone_page.get_by_role("heading", name="Stop reminders")).to_be_visible()
    expect(phone_page.get_by_text("Lindqvist")).to_have_count(0)
    screenshot("reminders-stop-link", phone_page)
    phone_page.get_by_role("button", name="Stop reminders").click()
    expect(phone_page.get_by_role("heading", name="Reminders stopped")).to_be_visible()

    # Back in the outbox: Alex's pending reminder is cancelled for lack of consent, and
    # the clinician's notice is waiting to go.
    page.goto(f"/reminders/?patient={outbox['alex'].mrn}")
    expect(page.locator(f"#reminder-{outbox['pending'].pk}")).to_contain_text("No consent")
    expect(page.get_by_role("cell", name="Patient stopped reminders (clinician)")).to_be_visible()
    screenshot("reminders-outbox")
