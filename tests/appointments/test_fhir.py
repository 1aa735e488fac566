"""FHIR read of individual appointments: Appointment (one-to-one), Encounter (attended),
Schedule and Slot, each valid R4B, limited to the reader's sites and audited."""


import pytest
import time_machine

from appointments import services
from ipm import roles
from ipm.models import AuditEvent
from patients.models import Site
from tests.conftest import api_client_for, make_user
from tests.fhir.conftest import fhir_json

from .conftest import next_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def attended(book, doctor, triaged_referral):
    appt = book(referral=triaged_referral)
    with time_machine.travel(appt.starts_at, tick=False):
        services.appointment_status_set(appointment=appt, status="attended", actor=doctor)
    appt.refresh_from_db()
    return appt


def test_it_reads_a_one_to_one_appointment_and_its_encounter(api, attended):
    data = fhir_json(api.get(f"/fhir/Appointment/individual-{attended.pk}"))
    assert data["status"] == "fulfilled"
    assert data["minutesDuration"] == 45
    assert data["participant"][0]["actor"]["reference"] == f"Patient/{attended.patient_id}"
    assert data["basedOn"] == [{"reference": f"ServiceRequest/{attended.referral_id}"}]
    enc = fhir_json(api.get(f"/fhir/Encounter/{attended.pk}"))
    assert enc["status"] == "finished" and enc["class"]["code"] == "AMB"
    assert enc["appointment"] == [{"reference": f"Appointment/individual-{attended.pk}"}]
    assert AuditEvent.objects.filter(action="read", object_type="appointments.appointment",
                                     patient_id=attended.patient_id).count() == 2


def test_appointment_search_lists_individual_visits_of_the_patient(api, attended, book):
    booked = book(starts_at=next_day(2, 10))
    bundle = fhir_json(api.get(f"/fhir/Appointment?patient={attended.patient_id}"))
    assert bundle["total"] == 2
    assert [e["resource"]["id"] for e in bundle["entry"]] == [
        f"individual-{attended.pk}", f"individual-{booked.pk}"]
    second = fhir_json(api.get(f"/fhir/Appointment?patient={attended.patient_id}&_count=1"
                               f"&_offset=1"))
    assert [e["resource"]["status"] for e in second["entry"]] == ["booked"]
    encounters = fhir_json(api.get(f"/fhir/Encounter?patient={attended.patient_id}"))
    assert encounters["total"] == 1


def test_schedules_and_free_slots(api, doctor, book):
    fhir_json(api.get(f"/fhir/Schedule/{doctor.pk}"))
    tuesday = next_day(1, 9)
    book(starts_at=tuesday)
    day = tuesday.date().isoformat()
    bundle = fhir_json(api.get(f"/fhir/Slot?schedule=Schedule/{doctor.pk}&start=ge{day}"
                               f"&start=le{day}&duration=60"))
    starts = [e["resource"]["start"] for e in bundle["entry"]]
    assert len(starts) == 7  # 09:00-17:00 less the 45 minutes booked at 09:00, in hours
    slot_id = bundle["entry"][0]["resource"]["id"]
    fhir_json(api.get(f"/fhir/Slot/{slot_id}"))
    # Without `schedule`: every clinician with hours; a reference to another type: none.
    everyone = fhir_json(api.get(f"/fhir/Slot?start=ge{day}&start=le{day}&duration=60"))
    assert [e["resource"]["start"] for e in everyone["entry"]] == starts
    assert fhir_json(api.get(f"/fhir/Slot?schedule=Patient/{doctor.pk}"))["total"] == 0
    fhir_json(api.get("/fhir/Slot?duration=1000"), 400)


def test_staff_of_another_site_get_404(attended, program):
    other = Site.objects.create(program=program, name="North", code="north")
    stranger = make_user("sid", roles.CLINICIAN)
    stranger.sites.set([other])
    client = api_client_for(stranger)
    assert client.get(f"/fhir/Appointment/individual-{attended.pk}").status_code == 404
    assert client.get(f"/fhir/Encounter/{attended.pk}").status_code == 404


def test_the_capability_statement_lists_the_new_resources(api):
    data = api.get("/fhir/metadata").json()
    types = {r["type"] for r in data["rest"][0]["resource"]}
    assert {"Appointment", "Encounter", "Schedule", "Slot"} <= types


def test_a_cancelled_visit_reads_as_cancelled_with_its_reason(api, book):
    appt = book(starts_at=next_day(3, 10))
    services.appointment_status_set(appointment=appt, status="cancelled_by_patient",
                                    reason="Unwell", actor=None)
    data = fhir_json(api.get(f"/fhir/Appointment/individual-{appt.pk}"))
    assert data["status"] == "cancelled" and data["cancelationReason"]["text"] == "Unwell"
    assert data["end"] > data["start"]
