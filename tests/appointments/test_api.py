"""The appointments API (docs/product.md §8): booking, 409 on overlap, status, slots, filters, notes,
site scoping and the error shape."""

from datetime import timedelta

import pytest
import time_machine

from appointments import services
from appointments.models import VisitNote
from ipm import roles
from patients.models import Site
from tests.conftest import api_client_for, make_user

from .conftest import next_day

pytestmark = pytest.mark.django_db


def _body(patient, doctor, starts_at, **kw):
    return {"patient": patient.pk, "clinician": doctor.pk, "service": "physio",
            "starts_at": starts_at.isoformat(), "duration_minutes": 45, **kw}


def test_it_books_then_refuses_the_same_slot_with_409(coordinator_api, patient, doctor,
                                                      make_patient, triaged_referral):
    when = next_day(1, 10)
    r = coordinator_api.post("/api/appointments/",
                             _body(patient, doctor, when, referral=triaged_referral.pk),
                             format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["status"] == "booked"
    assert r.json()["ends_at"].startswith((when + timedelta(minutes=45)).strftime("%Y-%m-%dT"))
    other = make_patient("Tom", "Fletcher")
    r = coordinator_api.post("/api/appointments/",
                             _body(other, doctor, when + timedelta(minutes=30)), format="json")
    assert r.status_code == 409
    assert set(r.json()) == {"message", "detail", "errors"}
    assert "starts_at" in r.json()["errors"]


def test_it_names_the_field_on_bad_input(coordinator_api, patient, doctor):
    r = coordinator_api.post("/api/appointments/",
                             _body(patient, doctor, next_day(5, 10)), format="json")
    assert r.status_code == 400
    assert list(r.json()["errors"]) == ["override"]
    r = coordinator_api.post("/api/appointments/",
                             _body(patient, doctor, next_day(1, 10), duration_minutes=2),
                             format="json")
    assert r.status_code == 400 and "duration_minutes" in r.json()["errors"]
    r = coordinator_api.post("/api/appointments/",
                             _body(patient, doctor, next_day(1, 10), mode="carrier_pigeon"),
                             format="json")
    assert r.status_code == 400 and "mode" in r.json()["errors"]


def test_it_sets_status_and_refuses_invalid_transitions(api, coordinator, book):
    appt = book()
    r = api.post(f"/api/appointments/{appt.pk}/status/", {"status": "attended"}, format="json")
    assert r.status_code == 409  # days before the start
    r = api.post(f"/api/appointments/{appt.pk}/status/", {"status": "cancelled_by_clinic"},
                 format="json")
    assert r.status_code == 400 and "reason" in r.json()["errors"]
    r = api.post(f"/api/appointments/{appt.pk}/status/",
                 {"status": "cancelled_by_clinic", "reason": "Clinic closed"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "cancelled_by_clinic"
    r = api.post(f"/api/appointments/{appt.pk}/status/",
                 {"status": "cancelled_by_patient", "reason": "x"}, format="json")
    assert r.status_code == 409


def test_it_lists_free_slots_around_booked_time(coordinator_api, book, doctor):
    tuesday = next_day(1, 9)
    book(starts_at=tuesday + timedelta(hours=1), minutes=60)
    day = tuesday.date().isoformat()
    r = coordinator_api.get("/api/appointments/slots/",
                            {"clinician": doctor.pk, "from": day, "to": day,
                             "duration_minutes": 60})
    assert r.status_code == 200
    starts = [s["start"][11:16] for s in r.json()["results"]]
    # 09-17 London; in winter that is UTC, in summer one hour earlier.
    offset = int(tuesday.utcoffset().total_seconds() // 3600)
    hours = [f"{h - offset:02d}:00" for h in (9, 11, 12, 13, 14, 15, 16)]
    assert starts == hours
    assert r.json()["count"] == 7


def test_slots_need_a_clinician_or_service_and_a_sane_range(coordinator_api, doctor):
    assert "clinician" in coordinator_api.get("/api/appointments/slots/").json()["errors"]
    r = coordinator_api.get("/api/appointments/slots/",
                            {"clinician": doctor.pk, "from": "2030-01-10", "to": "2030-01-01"})
    assert r.status_code == 400 and "to" in r.json()["errors"]
    r = coordinator_api.get("/api/appointments/slots/",
                            {"clinician": doctor.pk, "from": "next week"})
    assert r.status_code == 400 and "from" in r.json()["errors"]


def test_it_filters_by_clinician_patient_and_dates(coordinator_api, book, make_patient,
                                                   doctor, site):
    other_doc = make_user("dr-two", roles.CLINICIAN)
    services.weekly_availability_set(clinician=other_doc, site=site,
                                     windows=[(1, "09:00", "17:00", None)], actor=None)
    a = book(starts_at=next_day(1, 10))
    b = book(starts_at=next_day(1, 10), clinician=other_doc, patient=make_patient("Tom", "F"))
    c = book(starts_at=next_day(1, 10, weeks_ahead=2))

    def ids(**params):
        r = coordinator_api.get("/api/appointments/", params)
        assert r.status_code == 200, r.json()
        return [row["id"] for row in r.json()["results"]]

    assert ids(clinician=doctor.pk) == [a.pk, c.pk]
    assert ids(patient=b.patient_id) == [b.pk]
    day = next_day(1, 10).date().isoformat()
    assert sorted(ids(**{"from": day, "to": day})) == sorted([a.pk, b.pk])
    assert coordinator_api.get("/api/appointments/", {"from": "soon"}).status_code == 400


def test_the_list_costs_the_same_queries_at_any_page_size(coordinator_api, book, make_patient,
                                                          django_assert_max_num_queries):
    for i in range(6):
        book(starts_at=next_day(1, 9) + timedelta(minutes=45 * i),
             patient=make_patient(f"P{i}", "Q"))
    with django_assert_max_num_queries(12):
        assert len(coordinator_api.get("/api/appointments/?page_size=2").json()["results"]) == 2
    with django_assert_max_num_queries(12):
        assert len(coordinator_api.get("/api/appointments/?page_size=6").json()["results"]) == 6


def test_staff_of_another_site_see_nothing(book, program):
    appt = book()
    other = Site.objects.create(program=program, name="North clinic", code="north")
    stranger = make_user("sam", roles.COORDINATOR)
    stranger.sites.set([other])
    client = api_client_for(stranger)
    assert client.get("/api/appointments/").json()["results"] == []
    assert client.get(f"/api/appointments/{appt.pk}/").status_code == 404
    r = client.post(f"/api/appointments/{appt.pk}/status/",
                    {"status": "cancelled_by_clinic", "reason": "x"}, format="json")
    assert r.status_code == 404


@pytest.mark.parametrize("params, field", [({"site": ""}, "site"), ({"patient": "x"}, "patient"),
                                           ({"clinician": "0"}, "clinician"),
                                           ({"status": "maybe"}, "status")])
def test_it_refuses_an_empty_or_malformed_filter_naming_it(coordinator_api, params, field):
    r = coordinator_api.get("/api/appointments/", params)
    assert r.status_code == 400 and field in r.json()["errors"]


def test_admins_get_403(admin_api):
    assert admin_api.get("/api/appointments/").status_code == 403


def test_a_coordinator_reads_a_note_but_cannot_write_sign_or_add_to_it(book, doctor,
                                                                       coordinator_api):
    appt = book()
    with time_machine.travel(appt.starts_at, tick=False):
        services.appointment_status_set(appointment=appt, status="attended", actor=doctor)
    services.visit_note_save(appointment=appt, actor=doctor, plan="Walk daily", minutes=20)
    url = f"/api/appointments/{appt.pk}/note/"
    assert coordinator_api.get(url).json()["plan"] == "Walk daily"
    assert coordinator_api.put(url, {"plan": "x"}, format="json").status_code == 403
    assert coordinator_api.post(url + "sign/").status_code == 403
    assert coordinator_api.post(url + "addenda/", {"text": "x"}, format="json").status_code == 403
    assert VisitNote.objects.get(appointment=appt).plan == "Walk daily"


def test_the_note_api_writes_signs_and_takes_addenda(book, doctor, clinician):
    appt = book()
    with time_machine.travel(appt.starts_at, tick=False):
        r = api_client_for(doctor).post(f"/api/appointments/{appt.pk}/status/",
                                        {"status": "attended"}, format="json")
        assert r.status_code == 200 and r.json()["status"] == "attended"
    client = api_client_for(doctor)
    r = client.put(f"/api/appointments/{appt.pk}/note/",
                   {"subjective": "Better", "plan": "Walk daily", "minutes": 30}, format="json")
    assert r.status_code == 200 and r.json()["plan"] == "Walk daily"
    assert api_client_for(clinician).put(f"/api/appointments/{appt.pk}/note/",
                                         {"plan": "x"}, format="json").status_code == 403
    assert client.post(f"/api/appointments/{appt.pk}/note/sign/").status_code == 200
    assert client.put(f"/api/appointments/{appt.pk}/note/", {"plan": "y"},
                      format="json").status_code == 409
    r = client.post(f"/api/appointments/{appt.pk}/note/addenda/", {"text": "Rang: fine"},
                    format="json")
    assert r.status_code == 201 and r.json()["addenda"][0]["text"] == "Rang: fine"
    r = client.put(f"/api/appointments/{appt.pk}/note/", {"minutes": 900}, format="json")
    assert r.status_code == 400 and "minutes" in r.json()["errors"]
