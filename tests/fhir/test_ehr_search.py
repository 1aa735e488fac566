"""The FHIR searches EHRs and registries use (SPEC §10): _id, _lastUpdated with prefixes,
_sort, _include/_revinclude on Patient references, _summary=count, $everything, versions
with ETag and If-None-Match, _format refused the same way everywhere."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from ipm.models import AuditEvent
from patients.models import Patient
from referrals.models import Service
from referrals.services import referral_create

from .conftest import at, fhir_json, make_patient

pytestmark = pytest.mark.django_db


def ids(bundle, mode="match"):
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def types(bundle, mode):
    return sorted({e["resource"]["resourceType"] for e in bundle.get("entry", [])
                   if e["search"]["mode"] == mode})


@pytest.fixture
def three(program):
    """Three patients last changed 10, 5 and 1 days ago."""
    now = timezone.now()
    out = []
    for mrn, given, family, days in [("A-1", "Ann", "Cole", 10), ("A-2", "Ben", "Ames", 5),
                                     ("A-3", "Cat", "Bell", 1)]:
        p = make_patient(program, mrn=mrn, given=given, family=family)
        Patient.objects.filter(pk=p.pk).update(updated_at=now - timedelta(days=days))
        out.append(Patient.objects.get(pk=p.pk))
    return out


def test_it_finds_by_id(api, three):
    bundle = fhir_json(api.get(f"/fhir/Patient?_id={three[0].pk},{three[2].pk},nope"))
    assert sorted(ids(bundle)) == sorted([str(three[0].pk), str(three[2].pk)])


def test_it_filters_on_last_updated_with_prefixes(api, three):
    cutoff = (timezone.now() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(fhir_json(api.get(f"/fhir/Patient?_lastUpdated=gt{cutoff}"))) == [
        str(three[2].pk)]
    older = ids(fhir_json(api.get(f"/fhir/Patient?_lastUpdated=lt{cutoff}")))
    assert sorted(older) == sorted([str(three[0].pk), str(three[1].pk)])
    day = timezone.localdate(three[1].updated_at).isoformat()
    assert ids(fhir_json(api.get(f"/fhir/Patient?_lastUpdated=eq{day}"))) == [
        str(three[1].pk)]


def test_it_sorts(api, three):
    newest_first = ids(fhir_json(api.get("/fhir/Patient?_sort=-_lastUpdated")))
    assert newest_first == [str(p.pk) for p in reversed(three)]
    by_family = ids(fhir_json(api.get("/fhir/Patient?_sort=family")))
    assert by_family == [str(three[1].pk), str(three[2].pk), str(three[0].pk)]
    outcome = fhir_json(api.get("/fhir/Patient?_sort=colour"), 400)
    assert outcome["issue"][0]["code"] == "not-supported"


def test_it_answers_the_total_only_for_summary_count(api, three):
    bundle = fhir_json(api.get("/fhir/Patient?_summary=count"))
    assert bundle["total"] == 3 and "entry" not in bundle
    fhir_json(api.get("/fhir/Patient?_summary=text"), 400)


@pytest.fixture
def referred(patient, other_patient, clinician):
    physio = Service.objects.get(code="physio")
    return [referral_create(patient=p, service=physio, reason="Back pain", actor=clinician)
            for p in (patient, other_patient)]


def test_it_includes_the_referenced_patients(api, referred, patient, other_patient):
    bundle = fhir_json(api.get("/fhir/ServiceRequest?_include=ServiceRequest:patient"))
    assert types(bundle, "include") == ["Patient"]
    assert sorted(ids(bundle, "include")) == sorted([str(patient.pk), str(other_patient.pk)])
    fhir_json(api.get("/fhir/ServiceRequest?_include=ServiceRequest:performer"), 400)


def test_it_revincludes_what_references_the_patients(api, referred, phq9, patient):
    bundle = fhir_json(api.get(
        f"/fhir/Patient?_id={patient.pk}&_revinclude=ServiceRequest:patient"
        "&_revinclude=QuestionnaireResponse:subject"))
    assert ids(bundle) == [str(patient.pk)]
    assert types(bundle, "include") == ["QuestionnaireResponse", "ServiceRequest"]
    included = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]
                if e.get("search", {}).get("mode") == "include"}
    assert ("QuestionnaireResponse", str(phq9.pk)) in included
    # The other patient's referral is not included (ids compared with their type: a
    # QuestionnaireResponse may share a number with a ServiceRequest).
    assert ("ServiceRequest", str(referred[1].pk)) not in included


def test_it_gives_everything_about_a_patient(api, clinician, referred, phq9, patient):
    bundle = fhir_json(api.get(f"/fhir/Patient/{patient.pk}/$everything"))
    found = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "QuestionnaireResponse", "Observation", "ServiceRequest",
            "DocumentReference"} <= found
    subjects = {e["resource"].get("subject", {}).get("reference") for e in bundle["entry"]
                if e["resource"]["resourceType"] != "Patient"}
    assert subjects == {f"Patient/{patient.pk}"}
    assert AuditEvent.objects.filter(action="read", patient_id=patient.pk,
                                     detail__fhir__endswith="$everything").exists()
    fhir_json(api.get("/fhir/Patient/999999/$everything"), 404)


def test_it_versions_reads_with_etag_and_if_none_match(api, patient):
    first = api.get(f"/fhir/Patient/{patient.pk}")
    data = fhir_json(first)
    etag = first["ETag"]
    assert etag == f'W/"{data["meta"]["versionId"]}"'
    unchanged = api.get(f"/fhir/Patient/{patient.pk}", HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304 and unchanged.content == b""
    Patient.objects.filter(pk=patient.pk).update(updated_at=timezone.now() + timedelta(seconds=1))
    changed = api.get(f"/fhir/Patient/{patient.pk}", HTTP_IF_NONE_MATCH=etag)
    assert fhir_json(changed)["meta"]["versionId"] != data["meta"]["versionId"]
    assert changed["ETag"] != etag


@pytest.mark.parametrize("url", ["/fhir/Patient/{p}", "/fhir/Patient?name=ali",
                                 "/fhir/Patient/{p}/$everything", "/fhir/Questionnaire/phq9",
                                 "/fhir/metadata"])
@pytest.mark.parametrize("fmt", ["xml", "application/fhir+xml", "ttl"])
def test_it_refuses_non_json_formats_everywhere_with_406(api, patient, url, fmt):
    outcome = fhir_json(api.get(url.format(p=patient.pk) + ("&" if "?" in url else "?")
                                + f"_format={fmt}"), 406)
    assert outcome["issue"][0]["code"] == "not-supported"


def test_it_names_the_configured_mrn_system(api, patient):
    with override_settings(IPM_FHIR_MRN_SYSTEM="urn:oid:2.16.840.1.113883.2.1.4.1"):
        data = fhir_json(api.get(f"/fhir/Patient/{patient.pk}"))
        assert data["identifier"][0]["system"] == "urn:oid:2.16.840.1.113883.2.1.4.1"


def test_it_sorts_responses_newest_first(api, patient, all_responses):
    bundle = fhir_json(api.get(f"/fhir/QuestionnaireResponse?patient={patient.pk}"
                               "&_sort=-authored&_count=3"))
    assert ids(bundle) == [str(r.pk) for r in all_responses[::-1][:3]]
    since = at(2024, 2, 8, 0, 0).strftime("%Y-%m-%dT%H:%M:%S%z")
    since = since[:-2] + ":" + since[-2:]
    later = fhir_json(api.get(f"/fhir/QuestionnaireResponse?patient={patient.pk}"
                              f"&_lastUpdated=ge{since.replace('+', '%2B')}"))
    assert all(e["resource"]["authored"] >= "2024-02-08" for e in later["entry"])


def test_the_new_reads_show_only_the_readers_sites(api, program, patient):
    from patients.models import Site

    north = Site.objects.create(program=program, name="North", code="north")
    elsewhere = make_patient(program, mrn="N-9", given="Nia", family="North", site=north)
    for url in (f"/fhir/Patient/{elsewhere.pk}/$everything",
                f"/fhir/DocumentReference/{elsewhere.pk}-intake",
                f"/fhir/Binary/{elsewhere.pk}-intake"):
        fhir_json(api.get(url), 404)
    bundle = fhir_json(api.get(f"/fhir/DocumentReference?patient={elsewhere.pk}"))
    assert bundle["total"] == 0
    assert api.get(f"/api/patients/{elsewhere.pk}/letters/intake/").status_code == 404
