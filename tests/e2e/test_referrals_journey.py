"""Referral journeys in a real browser: a coordinator works the triage queue; another runs
an MDT meeting for two complex referrals and records the team's decisions."""

import itertools
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ipm import roles
from tests.conftest import make_user

_mrn = itertools.count(5000)


@pytest.fixture
def services(transactional_db):
    from referrals import catalogue
    from referrals.models import Service

    if not Service.objects.exists():  # a transactional test before this one flushed it
        catalogue.seed(Service)
    return {s.code: s for s in Service.objects.all()}


@pytest.fixture
def refer(services):
    from patients.models import Program
    from referrals.services import referral_create

    program = Program.default()
    referrer = make_user("dr_referrer", roles.CLINICIAN)

    def _refer(given, family, code, *, priority="routine", days_ago=0, **patient_fields):
        from patients.models import Patient

        patient = Patient.objects.create(program=program, mrn=f"E{next(_mrn)}", given_name=given,
                                         family_name=family, birth_date=date(1968, 3, 2),
                                         **patient_fields)
        return referral_create(patient=patient, service=services[code], priority=priority,
                               reason="Chronic low back pain for 9 months.", actor=referrer,
                               referred_at=timezone.now() - timedelta(days=days_ago, hours=1))

    return _refer


def test_a_coordinator_filters_triages_assigns_and_schedules(page, login_as, screenshot, refer):
    coordinator = make_user("corinne", roles.COORDINATOR)
    urgent = refer("Uma", "Urgent", "pain_medicine", priority="urgent", days_ago=3)
    refer("Olga", "Old", "physio", days_ago=12)
    refer("Rita", "Recent", "yoga", days_ago=1)
    refer("Ian", "Inbetween", "psychology", days_ago=4)

    login_as(coordinator)
    page.goto("/referrals/")
    rows = page.locator("table.queue-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("Uma Urgent")  # urgent first
    expect(rows.nth(1)).to_contain_text("Olga Old")    # then longest waiting
    expect(page.locator("tr", has_text="Olga Old")).to_contain_text("Over SLA")
    screenshot("triage_queue")

    # Filter: urgent referrals only.
    page.get_by_label("Priority").select_option("urgent")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    row = page.locator(f"#referral-{urgent.pk}")
    expect(row).to_contain_text("Uma Urgent")

    # Triage inline (htmx swaps the row).
    row.get_by_role("button", name="Triage", exact=True).click()
    expect(row.locator(".badge", has_text="Triaged")).to_be_visible()
    expect(row.get_by_role("status")).to_contain_text("triage done")

    # Assign to the coordinator: the page's one assign dialog, filled for this row.
    row.get_by_role("link", name=f"Change the assignee of referral {urgent.pk}").click()
    dialog = page.locator("#assign-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Assignee").select_option(str(coordinator.pk))
    dialog.get_by_role("button", name="Assign", exact=True).click()
    expect(row.get_by_role("status")).to_contain_text("assigned to Corinne")
    expect(dialog).to_be_hidden()

    # Schedule.
    row.get_by_role("button", name="Schedule", exact=True).click()
    expect(row.locator(".badge", has_text="Scheduled")).to_be_visible()

    # Decline another with a reason, in the page's one reason dialog.
    page.goto("/referrals/")
    olga = page.locator("tr", has_text="Olga Old")
    olga.get_by_role("link", name="Decline…").click()
    reason = page.locator("#reason-dialog")
    reason.get_by_label("Reason").fill("Already under a community physio")
    reason.get_by_role("button", name="Decline referral").click()
    expect(olga.locator(".badge", has_text="Declined")).to_be_visible()

    urgent.refresh_from_db()
    assert (urgent.status, urgent.assignee_id) == ("scheduled", coordinator.pk)
    assert [e.to_status for e in urgent.events.all()] == ["new", "triaged", "scheduled"]

    # The referral page shows the history.
    row.get_by_role("link", name="Uma Urgent").click()
    history = page.get_by_role("table", name="History")
    expect(history).to_contain_text("Triaged → Scheduled")
    expect(history).to_contain_text("Corinne")


def test_a_coordinator_runs_an_mdt_meeting_and_records_decisions(page, login_as, screenshot,
                                                                 refer):
    from referrals.models import MdtAgendaItem, MdtMeeting, Referral

    coordinator = make_user("maya", roles.COORDINATOR)
    red = refer("Rhys", "Redflag", "pain_medicine", priority="urgent", red_flag=True)
    high = refer("Hana", "Highrisk", "physio", risk_group="high", days_ago=2)

    login_as(coordinator)
    page.goto("/referrals/mdt/")
    candidates = page.get_by_role("table", name="Complex referrals")
    expect(candidates).to_contain_text("Rhys Redflag")
    expect(candidates).to_contain_text("Hana Highrisk")

    # Plan a virtual meeting today: its decisions can be recorded from its day on.
    page.get_by_label("Date").fill(timezone.localdate().isoformat())
    page.get_by_label("Time").fill("08:00")
    page.get_by_label("Virtual", exact=True).check()
    page.get_by_label("Video link (virtual)").fill("https://meet.example.org/ipm-mdt")
    page.get_by_role("button", name="Plan meeting").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("MDT meeting")
    meeting = MdtMeeting.objects.get()

    # Attendees by discipline.
    page.get_by_label("Discipline").fill("Psychology")
    page.get_by_label("Or name (guest)").fill("Dr Alex Moreno")
    page.get_by_role("button", name="Add attendee").click()
    expect(page.locator(".attendees")).to_contain_text("Psychology: Dr Alex Moreno")

    # Both complex referrals onto the agenda.
    for referral in (red, high):
        page.get_by_label("Complex referral").select_option(str(referral.pk))
        page.get_by_role("button", name="Add to agenda").click()
    items = page.locator("article.agenda-item")
    expect(items).to_have_count(2)

    # Decision 1: services (pain medicine and physiotherapy).
    first = items.filter(has_text="Rhys Redflag")
    first.get_by_label("Refer to the chosen services").check()
    first.get_by_label("Physiotherapy").check()
    first.get_by_label("Pain medicine").check()
    first.get_by_role("button", name="Record decision").click()
    first = page.locator("article.agenda-item", has_text="Rhys Redflag")
    expect(first.get_by_role("status")).to_contain_text("Decision: Refer to the chosen services")
    expect(first).to_contain_text("New referrals: Physiotherapy")

    # Decision 2: back to the GP with advice.
    second = page.locator("article.agenda-item", has_text="Hana Highrisk")
    second.get_by_label("Back to the GP with advice").check()
    second.get_by_label("Advice for the GP").fill("Graded activity plan; re-refer if no better.")
    second.get_by_role("button", name="Record decision").click()
    second = page.locator("article.agenda-item", has_text="Hana Highrisk")
    expect(second.get_by_role("status")).to_contain_text("Advice: Graded activity plan")
    screenshot("mdt_meeting")

    red.refresh_from_db()
    high.refresh_from_db()
    assert red.status == "triaged"
    assert (high.status, high.status_reason) == ("declined",
                                                 "Graded activity plan; re-refer if no better.")
    assert Referral.objects.filter(patient=red.patient, service__code="physio",
                                   status="triaged").exists()
    assert MdtAgendaItem.objects.filter(meeting=meeting, decision="").count() == 0

    # The printable agenda hides the forms.
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print agenda")).to_be_hidden()
    expect(page.locator("form.no-print").first).to_be_hidden()
