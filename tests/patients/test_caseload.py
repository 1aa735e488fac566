"""Caseload (docs/product.md §6): every patient has a responsible clinician and may have a care
manager, set at intake and changed on the patient page and through the API, audited."""

import pytest
from django.test import Client

from clinic.services import intake_record
from ipm.errors import InvalidInput
from ipm.models import AuditEvent
from patients.models import Patient, Program, Site
from patients.services import patient_create
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

BODY = {"mrn": "CL-1", "given_name": "Iris", "family_name": "Vale", "birth_date": "1971-02-03"}


def test_the_clinician_doing_the_intake_is_the_default(api, clinician):
    r = api.post("/api/patients/", BODY, format="json")
    assert r.status_code == 201
    assert r.json()["clinician"] == clinician.pk and r.json()["care_manager"] is None
    assert r.json()["site"] == Site.objects.get(code="main").pk


def test_a_coordinator_registers_no_patient_and_must_choose_the_clinician(
        coordinator_api, clinician, coordinator):
    # Registration is clinicians' in the API as on the pages (main, issue 16): 403.
    r = coordinator_api.post("/api/patients/", {**BODY, "clinician": clinician.pk},
                             format="json")
    assert r.status_code == 403 and not Patient.objects.exists()
    # Whoever registers without being a clinician (any other staff actor) must choose one.
    with pytest.raises(InvalidInput) as exc:
        patient_create(actor=coordinator, **BODY)
    assert "clinician" in exc.value.errors and not Patient.objects.exists()
    p = patient_create(actor=coordinator, clinician=clinician, care_manager=coordinator, **BODY)
    assert (p.clinician, p.care_manager) == (clinician, coordinator)


@pytest.mark.parametrize("who", ["coordinator", "inactive", "elsewhere"])
def test_it_refuses_a_clinician_who_cannot_be_responsible(api, coordinator, who):
    person = {"coordinator": coordinator}.get(who)
    if who == "inactive":
        person = make_user("gone", "clinician")
        person.is_active = False
        person.save()
    if who == "elsewhere":
        person = make_user("far", "clinician")
        person.sites.set([Site.objects.create(program=Program.default(), name="Far", code="far")])
    r = api.post("/api/patients/", {**BODY, "clinician": person.pk}, format="json")
    assert r.status_code == 400 and "clinician" in r.json()["errors"]


def test_it_changes_the_care_team_by_patch_audited(api, clinician, coordinator):
    other = make_user("otis", "clinician")
    p = patient_create(actor=clinician, **BODY)
    r = api.patch(f"/api/patients/{p.pk}/", {"clinician": other.pk,
                                             "care_manager": coordinator.pk}, format="json")
    assert r.status_code == 200, r.json()
    assert (r.json()["clinician"], r.json()["care_manager"]) == (other.pk, coordinator.pk)
    event = AuditEvent.objects.filter(patient_id=p.pk, action="update").latest("id")
    assert event.detail["care_team"]["clinician"] == {"from": clinician.pk, "to": other.pk}
    r = api.patch(f"/api/patients/{p.pk}/", {"clinician": None}, format="json")
    assert r.status_code == 400 and "clinician" in r.json()["errors"]


def test_it_moves_a_patient_to_another_site_of_the_team(api, clinician):
    north = Site.objects.create(program=Program.default(), name="North", code="north")
    clinician.sites.add(north)
    p = patient_create(actor=clinician, site=Site.objects.get(code="main"), **BODY)
    r = api.patch(f"/api/patients/{p.pk}/", {"site": north.pk}, format="json")
    assert r.status_code == 200 and r.json()["site"] == north.pk


def test_my_caseload_filters_the_list_api_and_pages(api, clinician, coordinator):
    other = make_user("otis", "clinician")
    mine = patient_create(actor=clinician, **BODY)
    patient_create(actor=other, mrn="CL-2", given_name="Ada", family_name="Stone",
                   birth_date="1980-01-01")
    managed = patient_create(actor=other, mrn="CL-3", given_name="Bo", family_name="Reed",
                             birth_date="1980-01-01", care_manager=clinician)
    ids = {row["id"] for row in api.get("/api/patients/?mine=1").json()["results"]}
    assert ids == {mine.pk, managed.pk}
    assert api.get("/api/patients/").json()["count"] == 3
    c = Client()
    c.force_login(clinician)
    page = c.get("/patients/?mine=1").content.decode()
    assert "Vale" in page and "Reed" in page and "Stone" not in page


def test_it_changes_the_care_team_on_the_patient_page(clinician, coordinator):
    p = patient_create(actor=clinician, **BODY)
    c = Client()
    c.force_login(coordinator)
    assert "Change the care team" in c.get(f"/patients/{p.pk}/").content.decode()
    r = c.post(f"/patients/{p.pk}/care-team/", {"site": p.site_id, "clinician": clinician.pk,
                                                "care_manager": coordinator.pk})
    assert r.status_code == 302
    p.refresh_from_db()
    assert p.care_manager == coordinator


def test_a_coordinator_changes_the_care_team_but_not_the_details_through_the_api(
        coordinator_api, clinician, coordinator):
    """The page's care-team form is the coordinators' too; the API agrees. Demographics stay
    clinicians' (patient registration)."""
    p = patient_create(actor=clinician, **BODY)
    r = coordinator_api.patch(f"/api/patients/{p.pk}/", {"care_manager": coordinator.pk},
                              format="json")
    assert r.status_code == 200 and r.json()["care_manager"] == coordinator.pk
    r = coordinator_api.patch(f"/api/patients/{p.pk}/", {"care_manager": None,
                                                         "family_name": "Changed"},
                              format="json")
    assert r.status_code == 403
    p.refresh_from_db()
    assert (p.family_name, p.care_manager) == ("Vale", coordinator)


def test_an_intake_makes_its_clinician_responsible_for_a_patient_without_one(clinician):
    # Issue 19: a patient registered without a clinician (a referral, an integration) got
    # none at intake, so their alerts went to the lead.
    patient = patient_create(actor=None, mrn="REF-1", given_name="Rae", family_name="Ferral",
                             birth_date="1980-01-01")
    assert patient.clinician is None
    startback = {f"q{i}": 1 for i in range(1, 9)} | {"q9": 4}
    phq9 = {f"q{i}": 0 for i in range(1, 9)} | {"q9": 1}
    no_flags = {k: False for k in ("cauda_equina", "cancer_history", "fever_or_infection",
                                   "significant_trauma", "unexplained_weight_loss",
                                   "progressive_neuro_deficit")}
    intake = intake_record(patient=patient, red_flags=no_flags, startback=startback,
                           baseline={"phq9": phq9}, actor=clinician)
    patient.refresh_from_db()
    assert patient.clinician == clinician
    # The alert its answers opened is this clinician's.
    assert intake.responses[-1].alerts[0].assigned_to == clinician
