"""A patient answers a questionnaire link on a phone (PEG and PHQ-9, one validation error
corrected on the way); the clinician then sees the new point on the trend chart; opening
the link again says it has been used."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from outcomes import services
from outcomes.models import QuestionnaireResponse
from tests.conftest import make_user


@pytest.fixture
def clinician_user(transactional_db):
    return make_user("casey", "clinician")


@pytest.fixture
def patient_with_link(clinician_user):
    from patients.models import Patient, Program

    intake = timezone.localdate() - timedelta(weeks=12)
    patient = Patient.objects.create(
        program=Program.default(), mrn="E2E-OUT-1", given_name="Robin", family_name="Hale",
        birth_date=datetime(1975, 3, 14).date(), email="robin@example.org",
        preferred_channel="email", consent_to_contact=True, clinician=clinician_user,
        intake_date=intake)
    baseline_at = timezone.make_aware(datetime.combine(intake, time(10)))
    services.responses_create_many(
        patient=patient, context="intake", answered_at=baseline_at, actor=clinician_user,
        answers_by_instrument={"peg": {"q1": 8, "q2": 8, "q3": 8},
                               "phq9": {f"q{i}": 2 for i in range(1, 10)} | {"q9": 0}})
    link, url = services.questionnaire_link_create(patient=patient, instruments=["peg", "phq9"],
                                                   actor=clinician_user)
    return patient, "/q/" + url.split("/q/", 1)[1]


def _choose(page, code: str, key: str, value: int):
    page.locator(f'label[for="f-{code}-{key}-{value}"]').click()


def test_it_takes_a_patient_link_answer_to_the_clinicians_trend_chart(
        phone_page, page, login_as, patient_with_link, clinician_user, screenshot):
    patient, path = patient_with_link

    # The patient, on a phone: PEG first, one answer forgotten.
    phone_page.goto(path)
    # Only the questions: no name, no programme (issue 19).
    expect(phone_page.get_by_text("Please answer these questions")).to_be_visible()
    expect(phone_page.get_by_text("Robin")).to_have_count(0)
    expect(phone_page.get_by_text("Hale")).to_have_count(0)
    expect(phone_page.get_by_role("heading", name="PEG")).to_be_visible()
    _choose(phone_page, "peg", "q1", 4)
    _choose(phone_page, "peg", "q2", 5)
    phone_page.get_by_role("button", name="Next").click()
    expect(phone_page.get_by_text("Please check 1 answer")).to_be_visible()
    error = phone_page.locator("#f-peg-q3-error")
    expect(error).to_have_text("Error: This item is required.")
    expect(phone_page.locator("#f-peg-q3")).to_have_attribute("aria-invalid", "true")
    expect(phone_page.locator("#f-peg-q1-4")).to_be_checked()  # earlier answers kept
    screenshot("patient_questionnaire_phone", phone_page)
    _choose(phone_page, "peg", "q3", 5)
    phone_page.get_by_role("button", name="Next").click()

    # PHQ-9 on the second step.
    expect(phone_page.get_by_text("Step 2 of 2")).to_be_visible()
    expect(phone_page.get_by_role("heading", name="PHQ-9")).to_be_visible()
    for i in range(1, 10):
        _choose(phone_page, "phq9", f"q{i}", 0 if i == 9 else 1)
    phone_page.get_by_role("button", name="Send my answers").click()
    expect(phone_page.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(phone_page.get_by_test_id("crisis-message")).to_have_count(0)
    peg = QuestionnaireResponse.objects.filter(patient=patient, instrument="peg").latest("answered_at")
    assert (peg.context, peg.scores["score"]) == ("patient_link", 4.67)

    # The clinician sees the new point: in the chart's data and in the table.
    console_errors = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    login_as(clinician_user)
    page.goto(f"/patients/{patient.pk}/trends/")
    expect(page.get_by_role("heading", name="Outcomes over time")).to_be_visible()
    row = page.locator(f'#trend-table tr[data-response="{peg.pk}"]')
    expect(row).to_contain_text("4.67")
    expect(row).to_contain_text("improved")
    expect(page.locator("#trend-summary")).to_contain_text("-3.33")
    canvas = page.locator('canvas[data-chart-id="peg"]')
    expect(canvas).to_be_visible()
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart-id=peg]'))")
    points = page.evaluate(
        "() => Chart.getChart(document.querySelector('canvas[data-chart-id=peg]'))"
        ".data.datasets[0].data.map(p => p.y)")
    assert points == [8.0, 4.67]
    labels = page.evaluate(
        "() => Chart.getChart(document.querySelector('canvas[data-chart-id=peg]'))"
        ".data.datasets.map(d => d.label)")
    assert "PEG score baseline" in labels and "PEG score MCID band" in labels
    x_ticks = page.evaluate(
        "() => Chart.getChart(document.querySelector('canvas[data-chart-id=peg]'))"
        ".scales.x.ticks.map(t => t.value)")
    assert x_ticks[0] == 0 and all(float(t).is_integer() for t in x_ticks), x_ticks
    expect(page.get_by_text("Responder (PEG improved ≥ 30 %)")).to_be_visible()
    screenshot("patient_trends")
    assert not console_errors, console_errors

    # The link works once: opening it again says so.
    response = phone_page.goto(path)
    assert response.status == 410
    expect(phone_page.get_by_role("heading", name="Already answered")).to_be_visible()


def test_it_asks_the_c_ssrs_follow_ups_only_after_a_yes_by_keyboard(
        page, login_as, patient_with_link, clinician_user):
    """A clinician enters a C-SSRS screen with the keyboard: q3-q5 appear only when q2 is Yes,
    q6_recent only when q6 is Yes; hidden items are skipped by Tab and not sent."""
    patient, _ = patient_with_link
    login_as(clinician_user)
    page.goto(f"/patients/{patient.pk}/responses/new/?instrument=cssrs_screen")
    q3 = page.locator("#f-cssrs_screen-q3")
    expect(q3).to_be_hidden()
    expect(page.locator("#f-cssrs_screen-q6_recent")).to_be_hidden()
    page.locator("#f-cssrs_screen-q1-1").focus()
    page.keyboard.press("Space")                      # q1: Yes
    page.keyboard.press("Tab")                        # to the q2 radio group
    page.keyboard.press("Space")                      # q2: No (the first option)
    expect(q3).to_be_hidden()
    page.keyboard.press("ArrowDown")                  # q2: Yes
    expect(page.locator("#f-cssrs_screen-q2-1")).to_be_checked()
    expect(q3).to_be_visible()
    page.keyboard.press("Tab")                        # next: q3, now shown
    expect(page.locator("#f-cssrs_screen-q3-0")).to_be_focused()
    for key in ("q3", "q4", "q5"):
        page.locator(f'label[for="f-cssrs_screen-{key}-0"]').click()
    page.locator('label[for="f-cssrs_screen-q6-1"]').click()
    expect(page.locator("#f-cssrs_screen-q6_recent")).to_be_visible()
    page.locator('label[for="f-cssrs_screen-q6_recent-1"]').click()
    # Back to q2 = No: the follow-ups hide again and their answers are not sent.
    page.locator('label[for="f-cssrs_screen-q2-0"]').click()
    expect(q3).to_be_hidden()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("saved")).to_be_visible()
    response = QuestionnaireResponse.objects.get(patient=patient, instrument="cssrs_screen")
    assert response.answers == {"q1": 1, "q2": 0, "q6": 1, "q6_recent": 1}
    assert response.scores["risk_level"] == "high" and response.scores["behavior_recent"]


def test_it_hands_a_new_link_over_in_a_field_with_a_copy_button(
        page, login_as, patient_with_link, clinician_user):
    """The clinician sends a link from the trends page; it is shown once, read-only, and the
    Copy button puts it on the clipboard (no inline script: copy.js)."""
    patient, _ = patient_with_link
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login_as(clinician_user)
    page.goto(f"/patients/{patient.pk}/trends/")
    page.get_by_role("button", name="Create and send link").click()
    field = page.get_by_label("Questionnaire link (shown once: copy it now)")
    expect(field).to_have_attribute("readonly", "")
    url = field.input_value()
    assert "/q/" in url
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == url


def test_the_questionnaire_page_is_light_on_a_phone(phone_page, patient_with_link):
    """The page a patient opens by text message moves under 100 KB with everything it loads
    (it moved 377 KB: all of Bootstrap's CSS and two scripts it never used), and loads no
    JavaScript but its own."""
    _, path = patient_with_link
    phone_page.set_extra_http_headers({"Accept-Encoding": "br, gzip"})
    responses = []
    phone_page.on("requestfinished", lambda request: responses.append(request))
    phone_page.goto(path)
    phone_page.wait_for_load_state("networkidle")
    sent = {r.url.split("/", 3)[-1]: r.sizes() for r in responses}
    total = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sent.values())
    assert total < 100_000, {url: s["responseBodySize"] for url, s in sent.items()}
    scripts = [url for url in sent if url.endswith(".js")]
    assert scripts == ["static/outcomes/questionnaire.js"], scripts
    assert not any("bootstrap" in url or "htmx" in url for url in sent), list(sent)
    expect(phone_page.get_by_role("button", name="Next")).to_be_visible()
