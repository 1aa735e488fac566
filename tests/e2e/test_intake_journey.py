"""A clinician completes an intake for a new person in the browser, sees the high-risk
result and creates the suggested referrals."""

import pytest
from playwright.sync_api import expect

from referrals.models import Referral
from tests.conftest import make_user


@pytest.fixture
def clinician_user(transactional_db):
    return make_user("casey", "clinician")


def _answer(page, item_text: str, option: str):
    page.locator("fieldset", has_text=item_text).get_by_text(option, exact=True).click()


def test_it_takes_a_new_person_through_intake_to_referrals(page, login_as, clinician_user, screenshot):
    login_as(clinician_user)
    page.goto("/patients/intake/")
    page.get_by_label("MRN").fill("E2E-001")
    page.get_by_label("Given name").fill("Robin")
    page.get_by_label("Family name").fill("Hale")
    page.get_by_label("Birth date").fill("1975-03-14")
    page.get_by_label("Email").fill("robin@example.org")
    page.get_by_label("Phone").fill("0770 090")          # not E.164: corrected below
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("E.164", exact=False).first).to_be_visible()
    expect(page.locator(".invalid-feedback, .text-danger").first).to_be_visible()
    page.get_by_label("Phone").fill("+447700900555")
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("heading", name="Red flags")).to_be_visible()
    for fs in page.locator("fieldset").all():
        fs.get_by_text("No", exact=True).click()
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("heading", name="STarT Back")).to_be_visible()
    fieldsets = page.locator("fieldset").all()
    for fs in fieldsets[:8]:
        fs.get_by_text("Agree", exact=True).click()
    fieldsets[8].get_by_text("Extremely", exact=True).click()
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("heading", name="PEG")).to_be_visible()
    page.get_by_role("button", name="Not today").click()
    expect(page.get_by_role("heading", name="PHQ-9")).to_be_visible()
    for fs in page.locator("fieldset").all()[:9]:
        fs.locator("label").nth(2).click()               # "More than half the days" = 2 → total 18
    page.get_by_role("button", name="Next").click()
    # Item 9 > 0 is allowed; GAD-7 and PROMIS-29 skipped today.
    expect(page.get_by_role("heading", name="GAD-7")).to_be_visible()
    page.get_by_role("button", name="Not today").click()
    expect(page.get_by_role("heading", name="PROMIS-29")).to_be_visible()
    page.get_by_role("button", name="Not today").click()
    expect(page.get_by_role("heading", name="Opioid dose")).to_be_visible()
    page.get_by_label("Current daily opioid dose (MME)").fill("40")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Save intake").click()

    expect(page.get_by_test_id("risk-group")).to_contain_text("High risk")
    expect(page.get_by_test_id("suggested-pathway")).to_contain_text("Psychologically informed")
    expect(page.get_by_text("A safety alert was opened")).to_be_visible()
    screenshot("intake_result")
    for service in ("Physiotherapy", "Pain psychology", "Behavioural health"):  # names, not codes
        page.get_by_role("button", name=f"Create referral to {service}", exact=True).click()
        expect(page.get_by_role("button", name=f"Create referral to {service}", exact=True)
               ).to_have_count(0)
    expect(page.get_by_text("Referral created")).to_have_count(3)
    assert sorted(Referral.objects.values_list("service__code", flat=True)) == [
        "behavioural_health", "physio", "psychology"]
