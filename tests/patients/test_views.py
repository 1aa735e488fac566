import pytest
from django.test import Client

from clinic.services import intake_record
from ipm.models import AuditEvent
from patients.models import Intake, Patient
from patients.services import patient_create

pytestmark = pytest.mark.django_db

NO_FLAGS = {k: False for k in ("cauda_equina", "cancer_history", "fever_or_infection",
                               "significant_trauma", "unexplained_weight_loss",
                               "progressive_neuro_deficit")}
HIGH = {f"q{i}": 1 for i in range(1, 9)} | {"q9": 4}


def logged_in(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def make_patients(n, clinician):
    out = []
    for i in range(n):
        p = patient_create(actor=clinician, mrn=f"M{i:04d}", given_name=f"Given{i}",
                           family_name=f"Family{i}", birth_date="1980-01-01")
        intake_record(patient=p, red_flags=NO_FLAGS, startback=HIGH, actor=clinician)
        out.append(p)
    return out


def test_the_patient_list_runs_a_constant_number_of_queries(clinician, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_patients(30, clinician)
    c = logged_in(clinician)
    c.get("/patients/?page_size=5")  # warm the session/user caches
    with CaptureQueriesContext(connection) as small:
        assert c.get("/patients/?page_size=5").status_code == 200
    assert len(small.captured_queries) <= 12
    with django_assert_num_queries(len(small.captured_queries)):
        r = c.get("/patients/?page_size=30")
    assert r.content.count(b"/patients/") >= 30


def test_it_filters_the_list_by_risk_and_flag(clinician):
    p1, p2 = make_patients(2, clinician)
    Patient.objects.filter(pk=p2.pk).update(risk_group="low", not_improving=True)
    c = logged_in(clinician)
    assert b"Family1" in c.get("/patients/?risk_group=low").content
    assert b"Family0" not in c.get("/patients/?risk_group=low").content
    assert b"Family1" in c.get("/patients/?flag=not_improving").content
    assert b"Family0" not in c.get("/patients/?q=Family1").content


def test_a_patient_page_read_is_audited_with_the_client_address(clinician):
    (p,) = make_patients(1, clinician)
    logged_in(clinician).get(f"/patients/{p.pk}/", REMOTE_ADDR="192.0.2.7")
    ev = AuditEvent.objects.filter(action="read", patient_id=p.pk).latest("id")
    assert (ev.actor, ev.ip, ev.object_type) == (clinician, "192.0.2.7", "patients.patient")


def test_admins_and_coordinators_reach_what_their_role_allows(clinician, coordinator, admin_user):
    (p,) = make_patients(1, clinician)
    assert logged_in(coordinator).get(f"/patients/{p.pk}/").status_code == 200
    assert logged_in(admin_user).get(f"/patients/{p.pk}/").status_code == 403
    assert logged_in(admin_user).get("/patients/").status_code == 403
    assert logged_in(coordinator).get("/patients/intake/").status_code == 403


DEMOGRAPHICS = {"step": "demographics", "mrn": "W-1", "given_name": "Wren",
                "family_name": "Ash", "birth_date": "1988-08-08", "sex": "female",
                "email": "wren@example.org", "phone": "+447700900999",
                "preferred_channel": "email", "consent_to_contact": "on",
                "timezone": "Europe/London"}


def test_bad_input_at_each_step_shows_errors_and_saves_nothing(clinician):
    c = logged_in(clinician)
    r = c.post("/patients/intake/", DEMOGRAPHICS | {"email": "nope"})
    assert b"Enter a valid email address" in r.content
    r = c.post("/patients/intake/", DEMOGRAPHICS)
    assert b"Red flags" in r.content
    r = c.post("/patients/intake/", {"step": "red_flags", "cauda_equina": "no"})
    assert b"Answer yes or no." in r.content
    c.post("/patients/intake/", {"step": "red_flags", **{k: "no" for k in NO_FLAGS}})
    r = c.post("/patients/intake/", {"step": "startback", "q1": "1", "q9": "9"})
    # The engine's messages, as on the patient link and in the API (one validator).
    assert b"This item is required." in r.content
    assert b"Select a valid choice. Allowed values: 0, 1, 2, 3, 4." in r.content
    assert not Patient.objects.exists() and not Intake.objects.exists()
    c.post("/patients/intake/", {"step": "startback", **{k: str(v) for k, v in HIGH.items()}})
    for step in ("peg", "phq9", "gad7", "promis29"):
        c.post("/patients/intake/", {"step": step, "action": "skip"})
    r = c.post("/patients/intake/", {"step": "mme", "mme": "-3"})
    assert b"greater than or equal to 0" in r.content
    c.post("/patients/intake/", {"step": "mme", "mme": ""})
    assert not Patient.objects.exists()
    r = c.post("/patients/intake/", {"step": "review", "action": "save"})
    intake = Intake.objects.get()
    assert r.status_code == 302 and r["Location"].endswith(f"/intakes/{intake.pk}/")
    assert intake.risk_group == "high" and intake.patient.mrn == "W-1"


def test_the_wizard_renders_questionnaires_with_the_shared_partial(clinician):
    c = logged_in(clinician)
    c.post("/patients/intake/", DEMOGRAPHICS)
    c.post("/patients/intake/", {"step": "red_flags", **{k: "no" for k in NO_FLAGS}})
    html = c.get("/patients/intake/?step=startback").content.decode()
    assert 'class="question mb-4" id="f-q1"' in html  # outcomes/_instrument_fields.html
    r = c.post("/patients/intake/", {"step": "startback", "q1": "1"})
    html = r.content.decode()
    assert 'id="f-q2-error"' in html and 'aria-invalid="true"' in html
    assert 'name="q1" id="f-q1-1" value="1" checked' in html  # the answer given is kept


def test_the_intake_rounds_the_mme_half_up_to_one_decimal(clinician):
    c = logged_in(clinician)
    c.post("/patients/intake/", DEMOGRAPHICS)
    c.post("/patients/intake/", {"step": "red_flags", **{k: "no" for k in NO_FLAGS}})
    c.post("/patients/intake/", {"step": "startback", **{k: str(v) for k, v in HIGH.items()}})
    for step in ("peg", "phq9", "gad7", "promis29"):
        c.post("/patients/intake/", {"step": step, "action": "skip"})
    c.post("/patients/intake/", {"step": "mme", "mme": "12.25"})
    c.post("/patients/intake/", {"step": "review", "action": "save"})
    intake = Intake.objects.get()
    assert str(intake.mme) == "12.3" and str(intake.patient.current_mme) == "12.3"


def test_a_duplicate_mrn_found_at_save_sends_the_user_back_to_the_details(clinician):
    c = logged_in(clinician)
    c.post("/patients/intake/", DEMOGRAPHICS)
    c.post("/patients/intake/", {"step": "red_flags", **{k: "no" for k in NO_FLAGS}})
    c.post("/patients/intake/", {"step": "startback", **{k: str(v) for k, v in HIGH.items()}})
    for step in ("peg", "phq9", "gad7", "promis29"):
        c.post("/patients/intake/", {"step": step, "action": "skip"})
    c.post("/patients/intake/", {"step": "mme", "mme": "0"})
    patient_create(actor=clinician, mrn="W-1", given_name="Someone", family_name="Else",
                   birth_date="1990-01-01")  # taken meanwhile by a colleague
    r = c.post("/patients/intake/", {"step": "review", "action": "save"})
    assert r.status_code == 200
    assert b"already exists" in r.content
    assert Patient.objects.count() == 1 and not Intake.objects.exists()


def test_overriding_the_pathway_in_the_page_needs_a_reason(clinician):
    (p,) = make_patients(1, clinician)
    c = logged_in(clinician)
    c.post(f"/patients/{p.pk}/pathway/", {"pathway": "self_management", "reason": ""})
    p.refresh_from_db()
    assert p.pathway == "psychologically_informed_physio"
    c.post(f"/patients/{p.pk}/pathway/", {"pathway": "self_management", "reason": "Declines physio"})
    p.refresh_from_db()
    assert p.pathway == "self_management"
    d = p.pathway_decisions.get()
    assert d.overridden and d.reason == "Declines physio" and d.decided_by == clinician


def test_a_refused_override_keeps_the_chosen_pathway_on_the_page(clinician):
    # Issue 19: the refused override reset the choice to the suggestion, so the next save
    # "confirmed" the suggestion with the override's reason.
    (p,) = make_patients(1, clinician)
    intake = p.intakes.get()
    c = logged_in(clinician)
    result = f"/patients/{p.pk}/intakes/{intake.pk}/"
    r = c.post(f"/patients/{p.pk}/pathway/", {"pathway": "self_management", "reason": "",
                                               "next": result})
    assert r.status_code == 302 and r["Location"] == result
    html = c.get(result).content.decode()
    assert '<option value="self_management" selected>' in html
    assert 'data-testid="pathway-error"' in html
    # Shown once: the page after that offers the suggestion again.
    assert '<option value="self_management" selected>' not in c.get(result).content.decode()
    c.post(f"/patients/{p.pk}/pathway/", {"pathway": "self_management", "reason": ""})
    page = c.get(f"/patients/{p.pk}/").content.decode()
    assert '<option value="self_management" selected>' in page
    assert not p.pathway_decisions.exists()


def test_the_intake_result_gives_the_crisis_message_after_a_positive_item_9(clinician):
    (p,) = make_patients(1, clinician)
    phq9 = {f"q{i}": 0 for i in range(1, 9)} | {"q9": 2}
    intake = intake_record(patient=p, red_flags=NO_FLAGS, startback=HIGH,
                           baseline={"phq9": phq9}, actor=clinician)
    html = logged_in(clinician).get(f"/patients/{p.pk}/intakes/{intake.pk}/").content.decode()
    assert 'data-testid="crisis-message"' in html and "116 123" in html  # GB default
    quiet = p.intakes.exclude(pk=intake.pk).get()
    html = logged_in(clinician).get(f"/patients/{p.pk}/intakes/{quiet.pk}/").content.decode()
    assert 'data-testid="crisis-message"' not in html
