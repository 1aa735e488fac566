"""Bulk Data export (SPEC §10) and the de-identified cohort CSV: kick-off, status, manifest,
files, cancel, expiry, scoping to the clinician's sites, audit. The task runs inline here
(eager, on commit); tests/fhir/test_worker_export.py runs it in a real worker."""

import csv
import io
import json
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from appointments.models import Appointment
from fhir_api import bulk, compartment, deid, resources
from fhir_api.models import ExportJob
from ipm.models import AuditEvent
from outcomes.instruments import get as instrument
from outcomes.models import SafetyAlert
from outcomes.services import response_create
from patients.models import Intake, Program, Site
from referrals.models import Referral, Service
from tests.conftest import api_client_for, make_user
from visits.models import Enrolment, GroupSeries, GroupSession

from .conftest import answers, at, fhir_json, make_patient

pytestmark = pytest.mark.django_db
ASYNC = {"HTTP_PREFER": "respond-async", "HTTP_ACCEPT": "application/fhir+json"}


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.IPM_EXPORT_DIR = str(tmp_path / "exports")
    return tmp_path / "exports"


@pytest.fixture
def elsewhere(program):
    """A patient at another site: not the clinician's."""
    site = Site.objects.create(program=program, name="North", code="north")
    return make_patient(program, mrn="N-1", given="Nell", family="North", site=site)


def kick_off(api, capture, url="/fhir/$export", execute=True):
    with capture(execute=execute):
        r = api.get(url, **ASYNC)
    assert r.status_code == 202, r.content
    return r["Content-Location"]


def test_it_runs_an_export_of_the_clinicians_sites(api, clinician, patient, phq9, elsewhere,
                                                   django_capture_on_commit_callbacks):
    status_url = kick_off(api, django_capture_on_commit_callbacks)
    r = api.get(status_url)
    assert r.status_code == 200 and r["Expires"]
    assert r["Content-Type"].startswith("application/json")
    manifest = r.json()
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].endswith("/fhir/$export")
    by_type = {o["type"]: o for o in manifest["output"]}
    assert {"Patient", "QuestionnaireResponse", "Observation", "Questionnaire"} <= set(by_type)
    body = api.get(by_type["Patient"]["url"])
    assert body["Content-Type"] == "application/fhir+ndjson"
    lines = b"".join(body.streaming_content).decode().splitlines()
    patients = [json.loads(line) for line in lines]
    assert [p["id"] for p in patients] == [str(patient.pk)]  # not the other site's
    assert by_type["Patient"]["count"] == 1
    qr = b"".join(api.get(by_type["QuestionnaireResponse"]["url"]).streaming_content)
    for line in qr.decode().splitlines():
        data = json.loads(line)
        get_fhir_model_class(data["resourceType"]).model_validate(data)
    completed = AuditEvent.objects.get(action="export.completed:bulk")
    assert completed.detail["patient_ids"] == [patient.pk]
    assert AuditEvent.objects.filter(action="export.requested:bulk", actor=clinician).exists()


def test_it_exports_chosen_types_at_patient_level(api, patient, phq9,
                                                  django_capture_on_commit_callbacks):
    status_url = kick_off(api, django_capture_on_commit_callbacks,
                          "/fhir/Patient/$export?_type=Patient,Observation"
                          "&_outputFormat=application/fhir%2Bndjson")
    types = {o["type"] for o in api.get(status_url).json()["output"]}
    assert types == {"Patient", "Observation"}


def test_it_exports_only_what_changed_since(api, patient, phq9,
                                            django_capture_on_commit_callbacks):
    later = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status_url = kick_off(api, django_capture_on_commit_callbacks,
                          f"/fhir/Patient/$export?_since={later}")
    assert api.get(status_url).json()["output"] == []
    earlier = "2000-01-01T00:00:00%2B00:00"
    status_url = kick_off(api, django_capture_on_commit_callbacks,
                          f"/fhir/Patient/$export?_since={earlier}")
    assert "Patient" in {o["type"] for o in api.get(status_url).json()["output"]}


def test_it_answers_202_with_progress_while_the_worker_runs(api, patient,
                                                            django_capture_on_commit_callbacks):
    status_url = kick_off(api, django_capture_on_commit_callbacks, execute=False)
    r = api.get(status_url)
    assert r.status_code == 202 and r["X-Progress"].startswith("queued")


@pytest.mark.parametrize(("url", "headers", "status"), [
    ("/fhir/$export", {}, 400),  # no Prefer: respond-async
    ("/fhir/$export?_outputFormat=text/csv", ASYNC, 400),
    ("/fhir/$export?_type=Practitioner", ASYNC, 400),  # not exported (Encounter now is)
    ("/fhir/$export?_since=yesterday", ASYNC, 400),
    ("/fhir/$export?_typeFilter=x", ASYNC, 400),
])
def test_it_refuses_bad_kick_offs(api, url, headers, status):
    fhir_json(api.get(url, **headers), status)
    assert not ExportJob.objects.exists()


def test_only_clinicians_export_and_only_their_own_jobs(api, coordinator_api, admin_api, patient,
                                                        django_capture_on_commit_callbacks):
    fhir_json(coordinator_api.get("/fhir/$export", **ASYNC), 403)
    fhir_json(admin_api.get("/fhir/$export", **ASYNC), 403)
    status_url = kick_off(api, django_capture_on_commit_callbacks)
    other = api_client_for(make_user("cleo", "clinician"))
    fhir_json(other.get(status_url), 404)


def test_delete_cancels_and_removes_the_files(api, patient, export_dir,
                                              django_capture_on_commit_callbacks):
    status_url = kick_off(api, django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    assert (export_dir / str(job.pk)).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(status_url).status_code == 202
    assert not (export_dir / str(job.pk)).exists()
    fhir_json(api.get(status_url), 404)
    assert AuditEvent.objects.filter(action="export.cancelled").exists()


def test_a_cancelled_job_stops_in_the_worker(patient, clinician):
    job = ExportJob.objects.create(kind="bulk", requested_by=clinician,
                                   params={"level": "system"}, status="cancelled")
    assert bulk.export_run(str(job.pk)) == "not-queued"
    job2 = ExportJob.objects.create(kind="bulk", requested_by=clinician, params={})
    ExportJob.objects.filter(pk=job2.pk).update(status="queued")
    original = bulk._still_wanted

    def cancel_then_check(j):
        ExportJob.objects.filter(pk=j.pk).update(status="cancelled")
        original(j)

    bulk._still_wanted = cancel_then_check
    try:
        assert bulk.export_run(str(job2.pk)) == "cancelled"
    finally:
        bulk._still_wanted = original


def test_files_expire_and_are_deleted(api, patient, export_dir,
                                      django_capture_on_commit_callbacks):
    status_url = kick_off(api, django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    assert bulk.exports_expire() == 0  # not yet
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert bulk.exports_expire() == 1
    assert not (export_dir / str(job.pk)).exists()
    assert ExportJob.objects.get().status == "expired"
    fhir_json(api.get(status_url), 404)


# --- de-identified cohort -------------------------------------------------------------------

def test_it_exports_a_de_identified_cohort_for_admins(admin_api, api, program, clinician,
                                                      django_capture_on_commit_callbacks):
    young = make_patient(program, mrn="C-1", given="Yara", family="Young",
                         birth_date=date(1990, 6, 1), intake_date=date(2024, 3, 1))
    old = make_patient(program, mrn="C-2", given="Otto", family="Oldman",
                       birth_date=date(1930, 1, 1), intake_date=date(2024, 3, 1))
    for when, score in ((date(2024, 3, 1), 8), (date(2024, 6, 1), 4)):
        response_create(patient=young, instrument="peg",
                        answers={"q1": score, "q2": score, "q3": score}, actor=clinician,
                        answered_at=timezone.make_aware(timezone.datetime(when.year, when.month,
                                                                          when.day, 10)))
    assert api.post("/api/exports/cohort/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_api.post("/api/exports/cohort/")
    assert r.status_code == 202
    status = admin_api.get(r["Location"])
    assert status.status_code == 200
    (file,) = status.json()["files"]
    got = admin_api.get(file["url"])
    assert got.status_code == 200
    raw = b"".join(got.streaming_content).decode()
    for secret in ("Yara", "Young", "Otto", "Oldman", "C-1", "C-2", "2024-03-01"):
        assert secret not in raw
    rows = {row["subject"]: row for row in csv.DictReader(io.StringIO(raw))}
    from django.conf import settings

    y = rows[deid.pseudonym(settings.IPM_DEID_SECRET, young.pk)]
    o = rows[deid.pseudonym(settings.IPM_DEID_SECRET, old.pk)]
    assert (y["age_at_intake"], o["age_at_intake"]) == ("33", "90+")
    shift = deid.shift_days(settings.IPM_DEID_SECRET, young.pk)
    assert y["intake_date"] == (date(2024, 3, 1) + timedelta(days=shift)).isoformat()
    baseline = date.fromisoformat(y["peg_baseline_date"])
    latest = date.fromisoformat(y["peg_latest_date"])
    assert (latest - baseline).days == (date(2024, 6, 1) - date(2024, 3, 1)).days
    assert y["peg_mcid"] == "improved"
    assert AuditEvent.objects.filter(action="export.completed:cohort").exists()


def test_it_shifts_dates_stably_and_groups_ages():
    assert deid.shift_days("k", 7) == deid.shift_days("k", 7) != 0
    assert {deid.shift_days("k", n) for n in range(200)} <= set(range(-182, 183)) - {0}
    assert deid.age_group(date(1934, 5, 2), date(2024, 5, 1)) == "89"
    assert deid.age_group(date(1934, 5, 1), date(2024, 5, 1)) == "90+"


def test_it_renders_a_batch_of_letters_in_the_worker(api, patient, other_patient, elsewhere,
                                                     django_capture_on_commit_callbacks):
    r = api.post("/api/letters/", {"kind": "intake", "patients": [patient.pk, elsewhere.pk]},
                 format="json")
    assert r.status_code == 404 and "patients" in r.json()["errors"]  # another site's
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post("/api/letters/", {"kind": "intake",
                                       "patients": [patient.pk, other_patient.pk]},
                     format="json")
    assert r.status_code == 202
    files = api.get(r["Location"]).json()["files"]
    assert len(files) == 2
    pdf = b"".join(api.get(files[0]["url"]).streaming_content)
    assert pdf.startswith(b"%PDF-")
    Program.default()


def test_the_command_queues_a_batch_of_letters(clinician, patient, other_patient,
                                               django_capture_on_commit_callbacks):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("letters_batch", kind="discharge", user=clinician.username, all=True,
                     stdout=out)
    job = ExportJob.objects.get(kind="letters")
    assert "queued letters job" in out.getvalue()
    assert job.status == "done" and len(job.files) == 2
    assert all((bulk.export_dir(job) / f["name"]).read_bytes().startswith(b"%PDF-")
               for f in job.files)


# --- at scale: plain data written in chunks -------------------------------------------------

def run_export(user, **params) -> dict[str, list[str]]:
    """Run a system-level export in the worker function; its files' lines by type."""
    job = ExportJob.objects.create(kind="bulk", requested_by=user,
                                   params={"level": "system", **params})
    assert bulk.export_run(str(job.pk)) == "done"
    job.refresh_from_db()
    return {f["type"]: (bulk.export_dir(job) / f["name"]).read_text("utf-8").splitlines()
            for f in job.files}


@pytest.fixture
def every_kind_of_row(program, clinician, patient, other_patient, all_responses):
    """Rows behind every branch of every exported type, for two patients: responses to
    every instrument (PROMIS T-scores, bands) in winter (UTC: 'Z') and summer (+01:00), one
    from the patient link; referrals sent in and made here, open and closed; alerts open
    and acknowledged; group sessions past, future and cancelled, shared by both; one-to-one
    visits attended, cancelled and booked; an intake for one; names beyond ASCII."""
    other_patient.given_name, other_patient.family_name = "Zoë", "Ó'Brien-Łukasz \"Ŝ\""
    other_patient.save()
    summer = response_create(patient=other_patient, instrument="phq9", actor=clinician,
                             answers={"q1": 3, "q2": 3, "q3": 2, "q4": 2, "q5": 1, "q6": 1,
                                      "q7": 1, "q8": 0, "q9": 2},
                             answered_at=at(2024, 7, 1, 9, 30))
    response_create(patient=other_patient, instrument="peg", context="patient_link",
                    answers={"q1": 5, "q2": 6, "q3": 7}, answered_at=at(2024, 7, 2, 8, 0))
    acknowledged = response_create(patient=patient, instrument="phq9", actor=clinician,
                                   answers=answers(instrument("phq9")),
                                   answered_at=at(2024, 8, 1, 9, 0))
    SafetyAlert.objects.filter(response=acknowledged).update(
        status="acknowledged", acknowledged_at=at(2024, 8, 2, 10, 0), action="other")
    assert SafetyAlert.objects.filter(response=summer, status="open").exists()
    physio = Service.objects.get(code="physio")
    group = Service.objects.get(code="group_programme")
    Referral.objects.create(patient=patient, service=physio, reason="Low back pain",
                            referred_by=clinician, assignee=clinician, status="in_treatment",
                            priority="urgent", referred_at=at(2024, 1, 10, 9, 0))
    sent_in = Referral.objects.create(patient=other_patient, service=physio, reason="",
                                      source="Dr Gee, Elm Surgery", source_system="urn:gp",
                                      source_identifier="GP-1", status="declined",
                                      status_reason="Seen elsewhere",
                                      referred_at=at(2024, 6, 10, 9, 0))
    series = GroupSeries.objects.create(name="Pain self-management", service=group,
                                        capacity=9, lead_clinician=clinician,
                                        location="Room 2", video_link="https://v.example/r")
    now = timezone.now()
    past = GroupSession.objects.create(series=series, starts_at=at(2024, 5, 1, 10, 0))
    past.facilitators.add(make_user("fran", "clinician"))
    GroupSession.objects.create(series=series, starts_at=now + timedelta(days=7),
                                lead_clinician=clinician)
    GroupSession.objects.create(series=series, starts_at=at(2024, 12, 1, 10, 0),
                                status="cancelled", cancelled_at=at(2024, 11, 1, 10, 0))
    for person in (patient, other_patient):
        Enrolment.objects.create(series=series, patient=person, status="enrolled")
    for n, (status, mode, reason) in enumerate((("attended", "video", ""),
                                                ("cancelled_by_patient", "in_person", "Ill"),
                                                ("booked", "phone", ""))):
        starts = at(2024, 9, 2 + n, 10, 0) if status != "booked" else now + timedelta(days=3)
        Appointment.objects.create(
            patient=other_patient if n else patient, clinician=clinician, service=physio,
            site=patient.site, referral=sent_in if n == 0 else None, starts_at=starts,
            ends_at=starts + timedelta(minutes=45), duration_minutes=45, mode=mode,
            status=status, status_reason=reason)
    Intake.objects.create(patient=patient, red_flags=[], startback_total=5,
                          startback_psychosocial=3, risk_group="medium",
                          suggested_pathway="physio")
    return [patient, other_patient]


def test_the_export_writes_the_resources_the_api_serves(clinician, every_kind_of_row,
                                                        monkeypatch):
    """The export writes plain data, not models: every line must still validate as its R4B
    resource and be the very bytes the model writes (what the API serves for the same
    rows), across chunks (one patient each here)."""
    monkeypatch.setattr(bulk, "CHUNK", 1)
    files = run_export(clinician)
    assert set(files) == {*bulk.BULK_TYPES, "Questionnaire"}  # every type has a row
    for lines in files.values():
        for line in lines:
            assert resources.validate(json.loads(line)).model_dump_json() == line
    ids = [p.pk for p in every_kind_of_row]
    served = {}
    for _, model in compartment.resources_for(ids):
        served.setdefault(model.get_resource_type(), []).append(model.model_dump_json())
    for resource_type, lines in served.items():
        assert sorted(files[resource_type]) == sorted(lines), resource_type
    sessions = [json.loads(line) for line in files["Appointment"]
                if not json.loads(line)["id"].startswith("individual-")]
    assert len(sessions) == 3  # shared by two patients in two chunks: each written once
    times = [json.loads(line)["effectiveDateTime"] for line in files["Observation"]]
    assert any(t.endswith("Z") for t in times) and any(t.endswith("+01:00") for t in times)


def test_the_export_costs_the_same_queries_per_chunk_whatever_its_size(
        clinician, program, monkeypatch):
    """Related rows are read per chunk, never per patient: a chunk of 30 patients costs
    the queries of a chunk of 3, and each further chunk at most PER_CHUNK more."""
    per_chunk = 12  # page, cancelled?, 9 reads of related rows, progress
    service = Service.objects.get(code="group_programme")
    series = GroupSeries.objects.create(name="S", service=service, capacity=99,
                                        lead_clinician=clinician)
    GroupSession.objects.create(series=series, starts_at=timezone.now() - timedelta(days=3))

    def add_patients(n, start):
        for i in range(start, start + n):
            person = make_patient(program, mrn=f"Q{i}", given=f"P{i}", family="Q")
            response_create(patient=person, instrument="phq9", actor=clinician,
                            answers=answers(instrument("phq9")))  # and a safety alert
            Referral.objects.create(patient=person, service=service, reason="x")
            Enrolment.objects.create(series=series, patient=person, status="enrolled")
            starts = timezone.now() - timedelta(days=2, hours=i)
            Appointment.objects.create(patient=person, clinician=clinician, service=service,
                                       site=person.site, starts_at=starts, status="attended",
                                       ends_at=starts + timedelta(minutes=30),
                                       duration_minutes=30)
            Intake.objects.create(patient=person, red_flags=[], startback_total=1,
                                  startback_psychosocial=0, risk_group="low",
                                  suggested_pathway="self_management")

    def queries(chunk):
        monkeypatch.setattr(bulk, "CHUNK", chunk)
        with CaptureQueriesContext(connection) as ctx:
            files = run_export(clinician)
        return len(ctx.captured_queries), files

    add_patients(3, 0)
    small, files = queries(100)
    assert len(files["Patient"]) == 3 and len(files["Encounter"]) == 3
    add_patients(27, 3)
    large, files = queries(100)
    assert len(files["Patient"]) == 30 and len(files["Flag"]) == 30
    assert large == small
    many, files = queries(3)  # ten chunks
    assert len(files["Patient"]) == 30 and len(files["Appointment"]) == 31
    assert many <= small + 9 * per_chunk
