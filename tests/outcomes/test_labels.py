"""Words, not codes: pages show instrument names, flag words and time points as people say
them (outcomes/templatetags/labels.py, patients/flags.py, outcomes.forms.recall_wording)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from outcomes import services
from outcomes.forms import recall_wording
from patients.flags import FLAGS
from patients.models import Patient

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_labels_every_flag_a_patient_can_carry():
    p = Patient(red_flag=True, not_improving=True, responder=True, current_mme=Decimal(95),
                consent_to_contact=False, consent_revoked_at=timezone.now())
    p.has_open_alert = True
    codes = set(p.flags) | {"stopped_reminders"}
    assert codes <= set(FLAGS), codes - set(FLAGS)


def test_the_patient_list_shows_flags_in_words(make_patient, clinician):
    make_patient(not_improving=True, current_mme=Decimal(60), clinician=clinician)
    html = logged_in(clinician).get("/patients/").content.decode()
    html = html[html.index("<tbody>"):]  # the rows, not the filter's option values
    assert "Not improving" in html and "Opioids ≥ 50 MME/day" in html
    for code in ("Notimproving", "Mme50", "not_improving", ">mme_50<", "Redflag"):
        assert code not in html


def test_the_patient_page_shows_flags_and_scores_by_their_names(patient, clinician, answers):
    Patient.objects.filter(pk=patient.pk).update(current_mme=Decimal(95))
    services.response_create(patient=patient, instrument="gad7", answers=answers.gad7(1))
    html = logged_in(clinician).get(f"/patients/{patient.pk}/").content.decode()
    assert "Opioids ≥ 90 MME/day" in html and "mme_90" not in html.split("<main")[1]
    assert "<strong>GAD-7</strong>" in html and "GAD7" not in html


def test_the_worklist_badges_read_as_measure_week_and_status(make_patient, coordinator):
    make_patient(intake_date=timezone.localdate() - timedelta(weeks=54))
    html = logged_in(coordinator).get("/worklist/").content.decode()
    badges = re.findall(r'<span class="badge [^"]*me-1">([^<]+)</span>', html)
    assert badges, html
    assert "GAD-7 · week 52 · due" in badges or "GAD-7 · week 52 · overdue" in badges, badges
    assert all(re.fullmatch(r"(PEG|PHQ-9|GAD-7|PROMIS-29|NPS) · (intake|week \d+) · \w+", b)
               for b in badges), badges


def test_the_questionnaire_shows_the_instruction_without_quotes(patient):
    _, url = services.questionnaire_link_create(patient=patient, instruments=["phq9"])
    html = Client().get("/q/" + url.split("/q/", 1)[1]).content.decode()
    assert ("Over the last 2 weeks, how often have you been bothered by any of the following "
            "problems?") in html
    assert "(&#x27;" not in html and "Time frame: last 2 weeks" not in html


@pytest.mark.parametrize(("recall", "expected"), [
    ("last 2 weeks ('Over the last 2 weeks, how often?')", ("Over the last 2 weeks, how often?", "")),
    ("past week", ("", "past week")),
    ("today", ("", "today")),
    ("none", ("", "")),
    ("'In general' for Global01-06; past 7 days for Global07 (pain)", ("", "")),
])
def test_it_turns_the_recall_period_into_an_instruction_or_a_time_frame(recall, expected):
    assert recall_wording(recall) == expected
