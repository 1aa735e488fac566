"""A care manager works the worklist: calls a patient who is not improving at 12 weeks
(contact recorded), steps them up with a reason, adds two goals in the patient's words,
sends a PSFS link that the patient answers about their own activities, and the month's
billing export shows the minutes and the code they meet."""

import re
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from care.models import Contact, StepDecision
from outcomes.services import responses_create_many
from tests.conftest import make_user


@pytest.fixture
def care_manager(transactional_db):
    # A nurse who manages care: clinician (step decisions) and coordinator (billing export).
    return make_user("nina", "clinician", "coordinator")


@pytest.fixture
def stuck_patient(care_manager):
    from patients.services import patient_create

    patient = patient_create(actor=care_manager, mrn="E2E-CARE-1", given_name="Sam",
                             family_name="Stone", birth_date="1968-05-02",
                             email="sam@example.org", consent_to_contact=True)
    intake = timezone.localdate() - timedelta(weeks=13)
    patient.intake_date = intake
    patient.save(update_fields=["intake_date"])
    responses_create_many(patient=patient, context="intake", actor=care_manager,
                          answered_at=timezone.make_aware(datetime.combine(intake, time(10))),
                          answers_by_instrument={"peg": {"q1": 8, "q2": 8, "q3": 8}})
    responses_create_many(patient=patient, context="follow_up", actor=care_manager,
                          answered_at=timezone.now() - timedelta(hours=2),
                          answers_by_instrument={"peg": {"q1": 8, "q2": 7, "q3": 8}})
    patient.refresh_from_db()
    assert patient.not_improving
    return patient


def test_a_care_manager_works_the_worklist(page, phone_page, login_as, care_manager,
                                           stuck_patient, screenshot):
    patient = stuck_patient
    login_as(care_manager)
    page.goto("/care/worklist/")
    row = page.locator(f'li[data-section="step-up"][data-patient="{patient.pk}"]')
    expect(row).to_contain_text("Sam Stone")

    # The call: recorded from the worklist row.
    row.get_by_text("Record a contact", exact=True).click()
    row.get_by_label("Contact type").select_option("phone")
    row.get_by_label("Minutes").fill("40")
    row.get_by_label("Outcome").select_option("reached")
    row.get_by_label("Note (what was agreed)").fill("Pain no better; agreed to add physio")
    row.get_by_role("button", name="Record contact").click()
    expect(page.get_by_text("Contact with Sam Stone recorded: phone call, 40 min, reached."))\
        .to_be_visible()
    contact = Contact.objects.get(patient=patient)
    assert (contact.minutes, contact.recorded_by_id) == (40, care_manager.pk)

    # Still to decide: step up with a reason, from the same row.
    row = page.locator(f'li[data-section="step-up"][data-patient="{patient.pk}"]')
    row.get_by_text("Step decision", exact=True).click()
    expect(row.get_by_label("Care step")).to_have_value("2")
    row.get_by_label("Reason").fill("No PEG improvement at 12 weeks: add physiotherapy")
    screenshot("care_worklist")
    row.get_by_role("button", name="Record step decision").click()
    expect(page.get_by_text("Sam Stone stepped up to step 2.")).to_be_visible()
    expect(page.locator('li[data-section="step-up"]')).to_have_count(0)
    assert StepDecision.objects.get(patient=patient).direction == "up"

    # The care plan: two goals in the patient's words.
    page.goto(f"/patients/{patient.pk}/")
    expect(page.get_by_test_id("care-step")).to_have_text("Step 2")
    for text, activity in (("I want to walk my dog to the park", "Walking the dog"),
                           ("Get back to my allotment", "Gardening")):
        page.get_by_label("Goal (the patient's words)").fill(text)
        page.get_by_label("Activity (rated by the PSFS)").fill(activity)
        page.get_by_role("button", name="Add goal").click()
        expect(page.get_by_text(f"Goal added: “{text}”.")).to_be_visible()
    goals = page.get_by_role("list", name="Goals")
    expect(goals).to_contain_text("PSFS a1: Walking the dog")
    expect(goals).to_contain_text("PSFS a2: Gardening")

    # The PSFS goes out by link; the patient is asked about their own activities.
    page.get_by_role("button", name="Send PSFS link").click()
    message = page.get_by_text("PSFS link created for Sam Stone")
    expect(message).to_be_visible()
    path = "/q/" + re.search(r"/q/([^/\s]+)/", message.inner_text()).group(1) + "/"
    phone_page.goto(path)
    expect(phone_page.get_by_text("Walking the dog")).to_be_visible()
    expect(phone_page.get_by_text("Gardening")).to_be_visible()
    expect(phone_page.get_by_text("Activity 1")).to_have_count(0)
    phone_page.locator('label[for="f-psfs-a1-3"]').click()
    phone_page.locator('label[for="f-psfs-a2-5"]').click()
    phone_page.get_by_role("button", name="Send my answers").click()
    # The link names nobody (docs/product.md §3.4): a misdirected message discloses nothing.
    expect(phone_page.get_by_role("heading", name="Thank you", exact=True)).to_be_visible()
    expect(phone_page.get_by_text("Sam")).to_have_count(0)
    page.goto(f"/patients/{patient.pk}/")
    expect(page.locator("#psfs-trend")).to_contain_text("Walking the dog")
    expect(page.locator("#psfs-trend")).to_contain_text("baseline")

    # The month's billing: 40 minutes, the patient's first care-management month: 99492.
    page.goto("/care/billing/")
    billed = page.locator(f'#billing-table tr[data-patient="{patient.pk}"]')
    expect(billed).to_contain_text("Sam Stone")
    expect(billed.locator("td").nth(2)).to_have_text("40")
    expect(billed).to_contain_text("first")
    expect(billed).to_contain_text("99492")
    screenshot("care_billing")
    csv = page.request.get(f"/care/billing.csv?month={timezone.localdate():%Y-%m}").text()
    assert "E2E-CARE-1,Sam Stone,main,40,first" in csv and "99492" in csv
