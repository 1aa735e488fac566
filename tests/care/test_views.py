"""Care pages: the patient page's care panel and quick forms, the MDT step decision, the
billing page and CSV."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from care import services
from care.models import Contact, Goal, StepDecision

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_the_patient_page_shows_the_care_panel(patient, clinician, coordinator):
    services.contact_create(patient=patient, kind="phone", minutes=25, outcome="reached",
                            note="Agreed a walking plan", actor=coordinator)
    services.goal_create(patient=patient, text="Walk my dog to the park",
                         activity="Walking the dog", actor=coordinator)
    html = _client(clinician).get(f"/patients/{patient.pk}/").content.decode()
    assert "Stepped care and care management" in html
    assert 'data-testid="care-step">Step 1<' in html
    assert "25 min</span> in" in html and "Agreed a walking plan" in html
    assert "Walk my dog to the park" in html and "PSFS a1: Walking the dog" in html
    assert f'action="/care/patients/{patient.pk}/step/"' in html  # clinicians decide steps


def test_coordinators_see_no_step_form(patient, coordinator):
    html = _client(coordinator).get(f"/patients/{patient.pk}/").content.decode()
    assert "Record a contact" in html
    assert f'action="/care/patients/{patient.pk}/step/"' not in html
    r = _client(coordinator).post(f"/care/patients/{patient.pk}/step/",
                                  {"step": 2, "reason": "x"})
    assert r.status_code == 403 and not StepDecision.objects.exists()


def test_the_quick_contact_form_records_a_contact(patient, coordinator):
    r = _client(coordinator).post(f"/care/patients/{patient.pk}/contacts/", {
        "kind": "phone", "minutes": "15", "outcome": "no_answer", "note": "",
        "next_contact_on": (timezone.localdate() + timedelta(days=1)).isoformat(),
        "next": "/care/worklist/"}, follow=True)
    assert r.redirect_chain[-1][0] == "/care/worklist/"
    assert "Contact with Robin Hart recorded" in r.content.decode()
    assert Contact.objects.get().outcome == "no_answer"


def test_a_bad_quick_contact_is_refused_with_a_message(patient, coordinator):
    r = _client(coordinator).post(f"/care/patients/{patient.pk}/contacts/", {
        "kind": "phone", "minutes": "900", "outcome": "reached"}, follow=True)
    assert "Minutes must be a whole number from 0 to 600" in r.content.decode()
    assert not Contact.objects.exists()


def test_the_step_form_steps_up_and_the_goal_form_adds_goals(patient, clinician):
    c = _client(clinician)
    r = c.post(f"/care/patients/{patient.pk}/step/", {"step": "2", "reason": "Not improving"},
               follow=True)
    assert "Robin Hart stepped up to step 2." in r.content.decode()
    c.post(f"/care/patients/{patient.pk}/goals/", {"text": "Garden again", "activity": "Digging"})
    goal = Goal.objects.get()
    assert goal.psfs_item == "a1"
    c.post(f"/care/goals/{goal.pk}/status/", {"status": "achieved"})
    goal.refresh_from_db()
    assert goal.status == "achieved"


def test_the_mdt_agenda_offers_a_step_decision_and_records_the_meeting(patient, clinician):
    from referrals.models import Service
    from referrals.services import mdt_agenda_add, mdt_meeting_create, referral_create

    referral = referral_create(patient=patient, service=Service.objects.get(code="physio"),
                               reason="Back pain", actor=clinician, needs_mdt=True)
    meeting = mdt_meeting_create(scheduled_for=timezone.now() + timedelta(days=1),
                                 location="Room 2", actor=clinician)
    mdt_agenda_add(meeting=meeting, referral=referral, actor=clinician)
    c = _client(clinician)
    html = c.get(f"/referrals/mdt/{meeting.pk}/").content.decode()
    assert "Care step decision (now step 1)" in html
    assert f'name="mdt_meeting" value="{meeting.pk}"' in html
    c.post(f"/care/patients/{patient.pk}/step/", {
        "step": "3", "reason": "MDT: specialist care", "mdt_meeting": meeting.pk,
        "next": f"/referrals/mdt/{meeting.pk}/"})
    decision = StepDecision.objects.get()
    assert (decision.to_step, decision.mdt_meeting_id) == (3, meeting.pk)


def test_the_billing_page_and_csv(patient, coordinator):
    services.contact_create(patient=patient, kind="phone", minutes=40, outcome="reached",
                            actor=coordinator)
    month = timezone.localdate().strftime("%Y-%m")
    c = _client(coordinator)
    html = c.get(f"/care/billing/?month={month}").content.decode()
    assert "Robin Hart" in html and "99492" in html and "MLN909432" in html
    r = c.get(f"/care/billing.csv?month={month}")
    assert r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert rows == [{"month": month, "patient_mrn": patient.mrn, "patient_name": "Robin Hart",
                     "site": "main", "minutes": "40", "care_month": "first", "bhi": "99484",
                     "ccm": "99490 + 99439", "cocm": "99492",
                     "codes": "bhi: 99484; ccm: 99490 + 99439; cocm: 99492"}]
    assert c.get("/care/billing.csv?month=13-2026").status_code == 400


def test_clinicians_have_no_billing_page(clinician):
    assert _client(clinician).get("/care/billing/").status_code == 403


def test_the_care_plan_shows_the_psfs_trend_by_activity(patient, clinician, coordinator):
    from outcomes.services import response_create

    services.goal_create(patient=patient, text="Walk my dog", activity="Walking the dog",
                         actor=coordinator)
    services.goal_create(patient=patient, text="Garden", activity="Gardening", actor=coordinator)
    response_create(patient=patient, instrument="psfs", answers={"a1": 2, "a2": 4},
                    actor=clinician, answered_at=timezone.now() - timedelta(days=30))
    response_create(patient=patient, instrument="psfs", answers={"a1": 6, "a2": 5},
                    actor=clinician)
    html = _client(clinician).get(f"/patients/{patient.pk}/").content.decode()
    trend = html[html.index('id="psfs-trend"'):]
    assert "<th>Walking the dog</th><th>Gardening</th>" in trend
    assert "baseline" in trend and "improved" in trend   # mean 3 → 5.5: +2.5 ≥ 2
    assert "6 <span class=\"text-muted\">(+4)</span>" in trend
