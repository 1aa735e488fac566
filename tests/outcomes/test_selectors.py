from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from outcomes import selectors, services
from outcomes.models import QuestionnaireResponse, ScheduleRule

pytestmark = pytest.mark.django_db


def at(day):
    return timezone.make_aware(datetime.combine(day, time(10)))


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def today():
    return timezone.localdate()


# --- Worklist -------------------------------------------------------------------------------

def test_it_puts_each_kind_of_work_on_the_worklist_with_its_next_action(
        make_patient, answers, clinician, today):
    due = make_patient(given_name="Dana", family_name="Due", intake_date=today - timedelta(weeks=6))
    stalled = make_patient(given_name="Stan", family_name="Still", not_improving=True,
                           intake_date=today - timedelta(weeks=30))
    stopped = make_patient(given_name="Stef", family_name="Stopped", consent_to_contact=False,
                           consent_revoked_at=timezone.now(), intake_date=None)
    alerted = make_patient(given_name="Al", family_name="Alert", intake_date=None)
    alert = services.response_create(patient=alerted, instrument="phq9",
                                     answers=answers.phq9(1)).alerts[0]
    html = logged_in(clinician).get("/worklist/").content.decode()
    assert f'action="/patients/{due.pk}/questionnaire-links/new/"' in html
    for code in ("peg", "phq9", "gad7"):
        assert f'name="instruments" value="{code}"' in html
    assert "PEG · week 6 · due" in html
    assert f'href="/patients/{stalled.pk}/"' in html and "Open patient (step up)" in html
    assert f'href="/patients/{stopped.pk}/"' in html and "Open patient (call)" in html
    assert f'action="/alerts/{alert.pk}/acknowledge/"' in html


def test_it_shows_only_my_patients_when_asked(make_patient, clinician, coordinator, today):
    make_patient(given_name="Mine", intake_date=today - timedelta(weeks=6), clinician=clinician)
    make_patient(given_name="Other", intake_date=today - timedelta(weeks=6), clinician=None)
    html = logged_in(clinician).get("/worklist/?mine=1").content.decode()
    assert "Mine Example" in html and "Other Example" not in html


def test_it_takes_a_measure_off_the_worklist_once_answered(make_patient, answers, today):
    patient = make_patient(intake_date=today - timedelta(weeks=6))
    assert patient in selectors.patients_with_measures_due(today=today)
    for code, values in (("peg", answers.peg_bad), ("phq9", answers.phq9()),
                         ("gad7", answers.gad7())):
        services.response_create(patient=patient, instrument=code, answers=values)
    assert patient not in selectors.patients_with_measures_due(today=today)


def _fill(make_patient, answers, n, today):
    for i in range(n):
        p = make_patient(intake_date=today - timedelta(weeks=6, days=i % 5),
                         not_improving=i % 2 == 0, consent_to_contact=i % 3 != 0,
                         consent_revoked_at=timezone.now() if i % 3 == 0 else None)
        services.response_create(patient=p, instrument="phq9", answers=answers.phq9(1))
        services.questionnaire_link_create(patient=p, instruments=["peg"])


def test_it_builds_the_worklist_in_constant_queries(make_patient, answers, clinician, today):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = logged_in(clinician)
    counts = []
    for n in (2, 7):
        _fill(make_patient, answers, n, today)
        with CaptureQueriesContext(connection) as queries:
            r = c.get("/worklist/")
        assert r.status_code == 200
        counts.append(len(queries))
    assert r.content.decode().count("<tr data-patient=") == 9
    assert counts[0] == counts[1] <= 18


def test_it_follows_a_programs_own_schedule(make_patient, program, today):
    patient = make_patient(intake_date=today - timedelta(weeks=5))
    assert patient not in selectors.patients_with_measures_due(today=today)
    ScheduleRule.objects.create(program=program, instrument="peg", weeks_after_intake=5)
    assert patient in selectors.patients_with_measures_due(today=today)
    selectors.attach_measures_due([patient], today=today)
    assert [(p.instrument, p.weeks) for p in patient.measures_due] == [("peg", 5)]


def test_it_asks_for_the_discharge_nps_once_every_referral_is_closed(make_patient, today):
    from referrals.models import Referral, Service

    service, _ = Service.objects.get_or_create(
        code="physio", defaults={"name": "Physiotherapy", "discipline": "physio",
                                 "sla_triage_days": 5, "sla_first_visit_days": 20})
    patient = make_patient(intake_date=today - timedelta(weeks=40))
    QuestionnaireResponse.objects.create(  # week-26 measures were done; nothing else is due
        patient=patient, instrument="peg", instrument_version="x", answers={}, scores={},
        answered_at=at(today - timedelta(weeks=14)))
    open_one = Referral.objects.create(patient=patient, service=service, reason="back pain",
                                       status="in_treatment")
    Referral.objects.create(patient=patient, service=service, reason="x", status="discharged",
                            closed_at=timezone.now() - timedelta(days=2))
    assert patient not in selectors.patients_with_measures_due(today=today)
    Referral.objects.filter(pk=open_one.pk).update(status="discharged", closed_at=timezone.now())
    (found,) = selectors.patients_with_measures_due(today=today)
    selectors.attach_measures_due([found], today=today)
    assert [(p.instrument, p.label) for p in found.measures_due] == [("nps", "At discharge")]
    QuestionnaireResponse.objects.create(
        patient=patient, instrument="nps", instrument_version="x", answers={}, scores={},
        answered_at=timezone.now())
    assert patient not in selectors.patients_with_measures_due(today=today)


# --- Trends ---------------------------------------------------------------------------------

def test_it_gives_the_trend_with_baseline_band_and_table_rows(patient, answers, today,
                                                             django_assert_num_queries):
    services.response_create(patient=patient, instrument="peg", answers=answers.peg_bad,
                             answered_at=at(patient.intake_date))
    services.response_create(patient=patient, instrument="peg", answers=answers.peg_better,
                             answered_at=at(patient.intake_date + timedelta(weeks=12)))
    services.response_create(patient=patient, instrument="phq9", answers=answers.phq9(0, 2),
                             answered_at=at(patient.intake_date))
    services.medication_review_create(patient=patient, total_mme=60,
                                      reviewed_at=at(patient.intake_date))
    patient.refresh_from_db()
    with django_assert_num_queries(3):
        trends = selectors.patient_trends(patient)
    charts = {c["id"]: c for c in trends["charts"]}
    assert set(charts) == {"peg", "phq9", "mme"}
    (peg,) = charts["peg"]["series"]
    assert peg["baseline"] == 8.0
    assert peg["band"]["low"] == 5.6 and peg["band"]["high"] == 10  # 8 ± 30 %, capped at 10
    assert [(p["x"], p["y"]) for p in peg["points"]] == [(0.0, 8.0), (12.0, 4.67)]
    assert charts["mme"]["thresholds"] == [50, 90]
    assert [(p["x"], p["y"]) for p in charts["mme"]["series"][0]["points"]] == [(0.0, 60.0)]
    assert (trends["chart_data"]["x_min"], trends["chart_data"]["x_max"]) == (0.0, 12.0)
    (phq9,) = charts["phq9"]["series"]
    assert (phq9["band"]["low"], phq9["band"]["high"]) == (11.0, 21.0)
    peg_summary = next(s for s in trends["summary"] if s["code"] == "peg")
    assert (peg_summary["change"], peg_summary["classification"]) == (-3.33, "improved")
    assert [(r["code"], r["is_baseline"]) for r in trends["rows"]] == [
        ("peg", True), ("phq9", True), ("peg", False)]
    assert trends["responder"] is True


def test_it_renders_the_trend_partial_with_data_for_the_charts(patient, answers, clinician):
    services.response_create(patient=patient, instrument="peg", answers=answers.peg_bad)
    html = logged_in(clinician).get(f"/patients/{patient.pk}/trends/").content.decode()
    assert 'id="outcomes-trends-data"' in html and 'type="application/json"' in html
    assert 'data-chart-id="peg"' in html
    assert "/static/outcomes/trends.js" in html and "/static/vendor/chartjs/chart.umd.min.js" in html
    assert 'id="trend-table"' in html and "baseline" in html
    assert "<script>" not in html  # no inline JS


def test_it_has_the_home_page_selector_the_lead_uses(patient, answers, clinician):
    services.response_create(patient=patient, instrument="phq9", answers=answers.phq9(1))
    (alert,) = selectors.open_alerts_for_home(clinician)
    assert alert.patient == patient


def test_a_new_patients_trend_axis_is_whole_weeks_up_to_the_first_follow_up(patient, answers):
    services.response_create(patient=patient, instrument="peg", answers=answers.peg_bad,
                             answered_at=timezone.make_aware(
                                 datetime.combine(patient.intake_date, time(10))))
    trends = selectors.patient_trends(patient)
    assert (trends["chart_data"]["x_min"], trends["chart_data"]["x_max"]) == (0, 6)
