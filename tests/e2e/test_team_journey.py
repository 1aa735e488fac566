"""A new program set up entirely in the browser by its admin (docs/product.md §6): set the clinical
lead, add a site, invite a clinician who opens the set-password link from their email, sets
a password and logs in, and give them a caseload."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from ipm import roles
from tests.conftest import make_user


@pytest.fixture
def program(transactional_db):
    from patients.models import Program

    return Program.default()


def test_an_admin_sets_up_the_team_and_a_new_clinician_gets_a_caseload(
        page, browser, live_server, login_as, screenshot, program):
    from patients.services import patient_create
    from reminders.dispatch import dispatch_due

    admin = make_user("ada_admin", roles.ADMIN)
    lena = make_user("lena", roles.CLINICIAN)
    lena.first_name, lena.last_name = "Lena", "Lead"
    lena.save()
    # A patient whose clinician is Lena, waiting for the new site's clinician.
    patient = patient_create(actor=lena, mrn="T-1001", given_name="Tariq", family_name="Novak",
                             birth_date="1966-05-04")

    login_as(admin)
    page.goto("/team/")
    expect(page.locator('[data-code="no_clinical_lead"]')).to_be_visible()
    expect(page.locator("#readiness-banner")).to_be_visible()

    # 1. The clinical lead.
    page.goto("/team/program/")
    page.get_by_label("Clinical lead").select_option(label="Lena Lead")
    page.get_by_label("Holiday country").fill("GB")
    page.get_by_label("Holiday region").fill("ENG")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Program settings saved.")).to_be_visible()
    program.refresh_from_db()
    assert program.clinical_lead_id == lena.pk
    page.goto("/team/")
    expect(page.locator('[data-code="no_clinical_lead"]')).to_have_count(0)

    # 2. A site.
    page.goto("/team/sites/")
    page.get_by_label("Name").fill("North clinic")
    page.get_by_label("Code").fill("north")
    page.get_by_role("button", name="Add site").click()
    expect(page.get_by_text("Site North clinic added.")).to_be_visible()
    expect(page.locator("table")).to_contain_text("north")
    screenshot("team-sites")

    # 3. Invite a clinician to the main site and the new one.
    page.goto("/team/staff/")
    page.get_by_label("Username").fill("nia")
    page.get_by_label("Email").fill("nia@example.org")
    page.get_by_label("First name").fill("Nia")
    page.get_by_label("Last name").fill("Okafor")
    page.get_by_label("Phone").fill("+447700900123")
    page.get_by_label("clinician", exact=True).check()
    page.get_by_label("Main site").check()
    page.get_by_label("North clinic").check()
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("nia added; the invitation is on its way")).to_be_visible()
    expect(page.locator("table")).to_contain_text("invited")
    screenshot("team-staff")

    # The outbox sends the invitation; Nia opens the link in her own browser.
    dispatch_due()
    (email,) = [m for m in mail.outbox if m.to == ["nia@example.org"]]
    link = next(word for word in email.body.split() if "/team/invite/" in word)
    path = link[link.index("/team/invite/"):]
    nia_context = browser.new_context(base_url=live_server.url)
    nia = nia_context.new_page()
    nia.goto(path)
    expect(nia.get_by_text("Your username is")).to_be_visible()
    nia.locator("#id_new_password1").fill("Correct-Horse-Battery-9")
    nia.locator("#id_new_password2").fill("Correct-Horse-Battery-9")
    nia.get_by_role("button", name="Set password").click()
    nia.wait_for_url("**/accounts/login/**")
    nia.get_by_label("Username").fill("nia")
    nia.get_by_label("Password").fill("Correct-Horse-Battery-9")
    nia.get_by_role("button", name="Log in").click()
    nia.wait_for_url(lambda url: "/accounts/login/" not in url)
    # The link works once.
    nia.goto(path)
    expect(nia.get_by_text("This link no longer works")).to_be_visible()

    # 4. Give Nia a caseload: Lena's patients move to her.
    page.goto("/team/reassign/")
    page.get_by_label("Move the caseload of").select_option(label="Lena Lead")
    page.get_by_label("Give it to").select_option(label="Nia Okafor")
    page.get_by_role("button", name="Move caseload").click()
    expect(page.get_by_text("Moved 1 patient(s) as responsible clinician")).to_be_visible()
    patient.refresh_from_db()
    assert patient.clinician.username == "nia"

    nia.goto("/patients/?mine=1")
    expect(nia.locator("main")).to_contain_text("Novak")
    nia.goto(f"/patients/{patient.pk}/")
    expect(nia.get_by_test_id("clinician")).to_contain_text("Nia")
    nia_context.close()
