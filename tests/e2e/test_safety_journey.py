"""The safety net after a positive self-harm answer (docs/product.md §7), end to end: a
patient answers PHQ-9 item 9 = 2 on a phone and sees the crisis message at once; the
assigned clinician gets an email and an SMS; unacknowledged, the alert escalates to the
clinical lead then the deputy on the program's working hours, a public holiday skipped; the
clinician records a C-SSRS screen (high risk: emergency-review banner) and the actions taken;
the administrator's dashboard shows the acknowledgement metrics by site."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from ipm import roles
from outcomes import services, tasks
from outcomes.models import AlertEscalation, SafetyAlert
from patients.models import Patient, Program
from reminders import sms
from reminders.dispatch import dispatch_due
from team.models import StaffProfile
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)

NINE_TO_FIVE = {d: ["09:00", "17:00"] for d in ("mon", "tue", "wed", "thu", "fri")} | {
    "sat": None, "sun": None}


def _reachable(username: str, phone: str):
    user = make_user(username, roles.CLINICIAN)
    user.email = f"{username}@clinic.example"
    user.save(update_fields=["email"])
    StaffProfile.objects.create(user=user, phone=phone)
    return user


def _holiday_case(today: date):
    """A recent English bank holiday H on a weekday, the working day before it, and the next
    working day after it, all in the past: the alert opens the afternoon before H, so its
    escalation must skip H (and any weekend or holiday after it)."""
    calendar = holidays.country_holidays("GB", subdiv="ENG", years=[today.year - 1, today.year])

    def working(day):
        return day.weekday() < 5 and day not in calendar

    for holiday in sorted((d for d in calendar if d < today), reverse=True):
        before = holiday - timedelta(days=1)
        after = holiday + timedelta(days=1)
        while not working(after):
            after += timedelta(days=1)
        if holiday.weekday() < 5 and working(before) and after < today:
            return before, holiday, after
    raise AssertionError("no English bank holiday in the last two years")


@pytest.fixture
def team():
    program = Program.default()
    lead, deputy = _reachable("lena", "+447700900201"), _reachable("dana", "+447700900202")
    program.clinical_lead, program.deputy_lead = lead, deputy
    program.working_hours, program.escalation_mode, program.escalation_hours = (
        NINE_TO_FIVE, "working_hours", 4)
    program.holiday_country, program.holiday_region = "GB", "ENG"
    program.save()
    clinician = _reachable("casey", "+447700900101")
    patient = Patient.objects.create(
        program=program, mrn="E2E-SAFE-1", given_name="Robin", family_name="Hale",
        birth_date=date(1975, 3, 14), email="robin@example.org", preferred_channel="email",
        consent_to_contact=True, clinician=clinician, intake_date=timezone.localdate())
    link, url = services.questionnaire_link_create(patient=patient, instruments=["phq9"],
                                                   actor=clinician)
    return {"program": program, "lead": lead, "deputy": deputy, "clinician": clinician,
            "patient": patient, "path": "/q/" + url.split("/q/", 1)[1]}


def test_a_positive_item_9_is_answered_notified_escalated_screened_acted_on_and_measured(
        phone_page, page, login_as, browser, live_server, team, admin_user, screenshot):
    sms.outbox.clear()
    program, clinician, patient = team["program"], team["clinician"], team["patient"]

    # 1. The patient answers on a phone: item 9 = 2, and sees the crisis message at once.
    phone_page.goto(team["path"])
    expect(phone_page.get_by_role("heading", name="PHQ-9")).to_be_visible()
    for i in range(1, 10):
        phone_page.locator(f'label[for="f-phq9-q{i}-{2 if i == 9 else 1}"]').click()
    phone_page.get_by_role("button", name="Send my answers").click()
    crisis = phone_page.get_by_test_id("crisis-message")
    expect(crisis).to_be_visible()
    expect(crisis).to_contain_text("Samaritans")  # the GB default: 999, NHS 111, 116 123
    expect(phone_page.get_by_text("Robin")).to_have_count(0)
    expect(phone_page.get_by_text("safety alert", exact=False)).to_have_count(0)
    assert phone_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot("safety_crisis_message_phone", phone_page)

    # 2. The assigned clinician gets an email and an SMS (the outbox rows, dispatched).
    alert = SafetyAlert.objects.get(patient=patient)
    assert alert.assigned_to == clinician
    dispatch_due()
    assert [m.to for m in mail.outbox] == [["casey@clinic.example"]]
    assert [m["to"] for m in sms.outbox] == ["+447700900101"]

    # 3. Unacknowledged, it escalates on the working calendar: opened at 15:00 the working
    # day before a bank holiday, 2 working hours that day, none on the holiday, 2 more on
    # the next working day -> the lead at 11:00; 4 working hours later -> the deputy at 15:00.
    tz = ZoneInfo(program.time_zone)
    before, holiday, after = _holiday_case(timezone.localdate())
    opened = datetime.combine(before, time(15), tzinfo=tz)
    SafetyAlert.objects.filter(pk=alert.pk).update(opened_at=opened)  # the clock, moved back
    assert tasks.escalate_alerts(now=datetime.combine(holiday, time(16), tzinfo=tz)) == 0
    assert tasks.escalate_alerts(now=datetime.combine(after, time(10, 59), tzinfo=tz)) == 0
    assert tasks.escalate_alerts(now=datetime.combine(after, time(11), tzinfo=tz)) == 1
    assert tasks.escalate_alerts(now=datetime.combine(after, time(14, 59), tzinfo=tz)) == 0
    assert tasks.escalate_alerts(now=datetime.combine(after, time(15), tzinfo=tz)) == 1
    steps = list(AlertEscalation.objects.filter(alert=alert).order_by("level"))
    assert [(s.level, s.to, s.at) for s in steps] == [
        (1, team["lead"], datetime.combine(after, time(11), tzinfo=tz)),
        (2, team["deputy"], datetime.combine(after, time(15), tzinfo=tz))]
    dispatch_due()
    assert sorted(m.to[0] for m in mail.outbox[1:]) == ["dana@clinic.example",
                                                         "lena@clinic.example"]
    assert sorted(m["to"] for m in sms.outbox[1:]) == ["+447700900201", "+447700900202"]

    # 4. The clinician opens the alert: assigned to her, both escalation steps shown.
    login_as(clinician)
    page.goto(f"/alerts/{alert.pk}/")
    expect(page.get_by_test_id("assigned-to")).to_have_text("Casey")
    expect(page.get_by_test_id("escalation")).to_have_count(2)
    # A first call goes unanswered: the alert stays open with a retry on the worklist.
    page.get_by_label("What was done").select_option("no_answer")
    page.get_by_label("Note").fill("Rang the mobile, no answer; voicemail left.")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_text("the alert stays open")).to_be_visible()
    expect(page.get_by_test_id("retry-at")).to_be_visible()
    page.goto("/worklist/")
    expect(page.get_by_test_id("alert-retry")).to_be_visible()

    # 5. She reaches the patient and records a C-SSRS screen from the alert page: q2 Yes
    # brings q3-q5 (skip logic); q4 Yes is high risk -> the emergency-review banner.
    page.goto(f"/alerts/{alert.pk}/")
    expect(page.locator("#f-cssrs_screen-q3")).to_be_hidden()
    for key, value in (("q1", 1), ("q2", 1), ("q3", 1), ("q4", 1), ("q5", 0), ("q6", 0)):
        page.locator(f'label[for="f-cssrs_screen-{key}-{value}"]').click()
    page.get_by_role("button", name="Save C-SSRS screen").click()
    expect(page).to_have_url(f"{live_server.url}/alerts/{alert.pk}/")
    expect(page.get_by_test_id("emergency-review")).to_be_visible()
    expect(page.get_by_test_id("cssrs-risk")).to_have_text("High")
    screenshot("safety_alert_emergency_review")
    page.get_by_label("What was done").select_option("emergency_services")
    page.get_by_label("Note").fill("Crisis team attending today; safety plan agreed.")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_text("acknowledged").first).to_be_visible()
    expect(page.get_by_test_id("action")).to_contain_text("Emergency services contacted")
    alert.refresh_from_db()
    assert (alert.status, alert.action, alert.cssrs_risk) == (
        "acknowledged", "emergency_services", "high")
    assert list(alert.actions.values_list("action", flat=True)) == [
        "no_answer", "emergency_services"]
    page.goto(f"/patients/{patient.pk}/")
    expect(page.get_by_test_id("cssrs-risk")).to_contain_text("high")

    # 6. The administrator's dashboard, from the alert's day to today: the new metrics.
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 1366, "height": 900})
    context.set_default_timeout(20_000)
    admin = context.new_page()
    admin.goto("/accounts/login/")
    admin.get_by_label("Username").fill(admin_user.username)
    admin.get_by_label("Password").fill("pw-for-tests-1")
    admin.get_by_role("button", name="Log in").click()
    admin.wait_for_url(lambda url: "/accounts/login/" not in url)
    admin.goto(f"/metrics/?from={before.isoformat()}&to={timezone.localdate().isoformat()}")
    admin.get_by_role("button", name="Compute now").click()
    expect(admin.locator("#snapshot-info")).to_contain_text("Snapshot computed", timeout=30_000)
    # Acknowledged long after one working day (it escalated twice): 0 % within a day.
    card = admin.locator('.metric-card[data-metric="pct_acknowledged_within_working_day"]')
    expect(card.locator("[data-value]")).to_have_text("0.0 %")
    expect(admin.locator('.metric-card[data-metric="median_hours_to_acknowledge"] '
                         '[data-value]')).not_to_have_text("—")
    site_row = admin.locator('table[data-metric="alert_acknowledgement_by_site"] '
                             'tr[data-site="main"]')
    expect(site_row.locator('[data-measure="pct_within_working_day"]')).to_have_text("0.0 %")
    expect(site_row.locator('[data-measure="median_hours"]')).not_to_have_text("—")
    screenshot("safety_metrics_dashboard", admin)
    context.close()
