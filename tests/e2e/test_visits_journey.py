"""A coordinator runs a group programme in the browser: creates a series of 6 weekly
sessions, enrols people past capacity, withdraws one (the first waitlisted person is
promoted), and marks attendance on the tablet sheet."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ipm import roles
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = [("Alice", "Archer"), ("Bob", "Baker"), ("Cara", "Cole"), ("Dan", "Dale"),
         ("Eve", "Eden")]


@pytest.fixture
def cast():
    from patients.models import Patient, Program
    from tests.visits.conftest import ensure_services

    ensure_services()
    program = Program.default()
    coordinator = make_user("corey", roles.COORDINATOR)
    lead = make_user("lena", roles.CLINICIAN)
    patients = [Patient.objects.create(program=program, mrn=f"E2E{i:03d}", given_name=g,
                                       family_name=f, birth_date=date(1968, 5, i + 1),
                                       email=f"{g.lower()}@example.org", preferred_channel="email",
                                       consent_to_contact=True)
                for i, (g, f) in enumerate(NAMES)]
    return coordinator, lead, patients


def test_coordinator_runs_a_group_series(page, login_as, screenshot, cast):
    from reminders.models import Reminder
    from visits.models import Attendance, Enrolment, GroupSeries

    coordinator, lead, patients = cast
    page.on("dialog", lambda dialog: dialog.accept())
    login_as(coordinator)

    # Create the series: 6 weekly sessions, the first one started an hour ago.
    page.goto("/groups/")
    page.get_by_role("link", name="New series").click()
    page.get_by_label("Programme name").fill("Living well with pain")
    page.get_by_label("Capacity").fill("3")
    page.get_by_label("Lead clinician (billable)").select_option(label="Lena")
    page.get_by_label("Location").fill("Room 4, Pain Centre")
    first = timezone.localtime() - timedelta(hours=1)
    page.get_by_label("First session starts").fill(first.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Number of weekly sessions").fill("6")
    page.get_by_label("Duration (minutes)").fill("90")
    page.get_by_label("Duration (minutes)").dispatch_event("change")
    expect(page.get_by_text("6 sessions:")).to_be_visible()
    screenshot("group_series_new")
    page.get_by_role("button", name="Create series").click()
    expect(page.get_by_role("heading", name="Living well with pain")).to_be_visible()
    expect(page.locator("#sessions tbody tr")).to_have_count(6)
    series = GroupSeries.objects.get(name="Living well with pain")

    # Enrol five people into three places: two wait, in order.
    for patient in patients:
        page.wait_for_load_state("networkidle")      # htmx wired up before we type
        search = page.get_by_label("Name or MRN")
        search.fill(patient.mrn)
        search.press("Enter")                        # the "search" trigger, in case input was early
        page.get_by_role("button", name=f"Enrol {patient.full_name}").click()
        expect(page.get_by_role("alert").filter(has_text=patient.full_name)).to_be_visible()
    expect(page.locator("#enrolled-list li")).to_have_count(3)
    expect(page.locator("#waitlist li")).to_have_count(2)
    expect(page.locator("#waitlist li").first).to_contain_text("Dan Dale")
    expect(page.locator("#enrolled-count")).to_have_text("3")

    page.get_by_label("Name or MRN").fill("E2E")
    expect(page.get_by_label("Matching patients").get_by_role("listitem")).to_have_count(5)
    screenshot("group_series_search")

    # Withdraw Alice: Dan, first on the waitlist, takes her place.
    page.get_by_role("button", name="Withdraw Alice Archer").click()
    expect(page.get_by_role("alert").filter(has_text="promoted from the waitlist")).to_be_visible()
    expect(page.locator("#enrolled-list")).to_contain_text("Dan Dale")
    expect(page.locator("#enrolled-list")).not_to_contain_text("Alice Archer")
    expect(page.locator("#waitlist li")).to_have_count(1)
    expect(page.locator("#waitlist li").first).to_contain_text("Eve Eden")
    screenshot("group_series")
    dan = patients[3]
    assert Enrolment.objects.get(series=series, patient=dan).status == "enrolled"
    assert Reminder.objects.filter(patient=dan, status="pending").count() == 10  # 5 future x 2

    # Mark attendance for the first session on the sheet.
    page.locator("#sessions tbody tr").first.get_by_role("link", name="Attendance").click()
    expect(page.get_by_role("heading", name="Attendance")).to_be_visible()
    rows = page.locator(".att-row")
    expect(rows).to_have_count(3)
    for patient, label in [(patients[1], "Present"), (patients[2], "Late cancel"),
                           (dan, "Present")]:
        row = page.locator(f"#att-{patient.pk}")
        row.get_by_role("button", name=label).click()
        expect(page.locator(f"#att-{patient.pk} button[aria-pressed=true]")).to_have_text(label)
    expect(page.locator("#att-summary")).to_contain_text("2 present")
    expect(page.locator("#att-summary")).to_contain_text("0 unresolved")
    # A mis-tap is corrected with one more tap.
    page.locator(f"#att-{patients[2].pk}").get_by_role("button", name="Excused").click()
    expect(page.locator(f"#att-{patients[2].pk}")).to_have_attribute("data-status", "excused")
    screenshot("attendance_sheet")

    first_session = series.sessions.order_by("starts_at").first()
    marked = dict(Attendance.objects.filter(session=first_session)
                  .values_list("patient_id", "status"))
    assert marked == {patients[1].pk: "present", patients[2].pk: "excused", dan.pk: "present"}
    expect(page.locator(f"#att-{dan.pk} .att-status")).to_have_text(re.compile("Present"))
