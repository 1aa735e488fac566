"""The group programmes API (docs/product.md §4): paths, fields and status codes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from reminders.models import Reminder
from visits.models import Enrolment, GroupSeries

pytestmark = pytest.mark.django_db


def _body(clinician, coordinator, **kw):
    start = timezone.now() + timedelta(days=10)
    return {"name": "Living well with pain", "service": "group_programme", "capacity": 2,
            "lead_clinician": clinician.pk, "facilitators": [coordinator.pk],
            "location": "Room 4, Pain Centre", "video_link": "",
            "sessions": [{"starts_at": (start + timedelta(weeks=i)).isoformat(),
                          "duration_minutes": 90} for i in range(3)], **kw}


@pytest.fixture
def series_id(coordinator_api, clinician, coordinator):
    r = coordinator_api.post("/api/group-series/", _body(clinician, coordinator), format="json")
    assert r.status_code == 201, r.json()
    return r.json()["id"]


def test_it_creates_a_series_with_sessions_and_counts(coordinator_api, clinician, coordinator):
    r = coordinator_api.post("/api/group-series/", _body(clinician, coordinator), format="json")
    assert r.status_code == 201
    data = r.json()
    assert data["name"] == "Living well with pain"
    assert data["service"] == "group_programme"
    assert data["capacity"] == 2
    assert data["lead_clinician"] == clinician.pk
    assert data["facilitators"] == [coordinator.pk]
    assert data["location"] == "Room 4, Pain Centre"
    assert [s["duration_minutes"] for s in data["sessions"]] == [90, 90, 90]
    assert {s["status"] for s in data["sessions"]} == {"scheduled"}
    assert set(data["sessions"][0]) >= {"id", "starts_at", "duration_minutes", "status"}
    assert (data["enrolled_count"], data["waitlisted_count"], data["available"]) == (0, 0, 2)
    assert data["counts"] == {"enrolled_count": 0, "waitlisted_count": 0, "available": 2}
    assert GroupSeries.objects.get(pk=data["id"]).sessions.count() == 3


@pytest.mark.parametrize(("change", "field"), [
    ({"service": "nope"}, "service"),
    ({"capacity": 0}, "capacity"),
    ({"sessions": [{"starts_at": "not a date", "duration_minutes": 90}]}, "sessions"),
    ({"sessions": [{"starts_at": "2030-01-01T10:00:00Z", "duration_minutes": 0}]}, "sessions"),
    ({"video_link": "not a url"}, "video_link"),
    ({"name": ""}, "name"),
])
def test_it_refuses_bad_series_input_and_saves_nothing(coordinator_api, clinician, coordinator,
                                                       change, field):
    r = coordinator_api.post("/api/group-series/", _body(clinician, coordinator, **change),
                             format="json")
    assert r.status_code == 400
    assert field in r.json()["errors"]
    assert r.json()["message"]
    assert not GroupSeries.objects.exists()


def test_a_lead_must_be_a_clinician(coordinator_api, clinician, coordinator):
    r = coordinator_api.post("/api/group-series/",
                             _body(clinician, coordinator, lead_clinician=coordinator.pk),
                             format="json")
    assert r.status_code == 400
    assert "lead_clinician" in r.json()["errors"]


def test_it_lists_series_paginated_and_shows_one(api, series_id):
    r = api.get("/api/group-series/")
    assert r.status_code == 200
    page = r.json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 1 and page["results"][0]["id"] == series_id
    one = api.get(f"/api/group-series/{series_id}/")
    assert one.status_code == 200
    assert one.json()["id"] == series_id and len(one.json()["sessions"]) == 3
    assert api.get("/api/group-series/999999/").status_code == 404


def test_it_enrols_waitlists_and_refuses_duplicates(api, series_id, make_patient):
    a, b, c = make_patient(), make_patient(), make_patient()
    url = f"/api/group-series/{series_id}/enrol/"
    r1 = api.post(url, {"patient": a.pk}, format="json")
    assert r1.status_code == 201
    assert (r1.json()["status"], r1.json()["waitlist_position"]) == ("enrolled", None)
    api.post(url, {"patient": b.pk}, format="json")
    r3 = api.post(url, {"patient": c.pk}, format="json")
    assert (r3.json()["status"], r3.json()["waitlist_position"]) == ("waitlisted", 1)
    dup = api.post(url, {"patient": c.pk}, format="json")
    assert dup.status_code == 409
    assert dup.json()["message"]
    counts = api.get(f"/api/group-series/{series_id}/").json()
    assert (counts["enrolled_count"], counts["waitlisted_count"], counts["available"]) == (2, 1, 0)
    assert api.post(url, {"patient": 999999}, format="json").status_code == 400
    assert api.post("/api/group-series/999999/enrol/", {"patient": a.pk},
                    format="json").status_code == 404


def test_withdrawal_promotes_the_first_waitlisted(api, series_id, make_patient):
    a, b, c, d = (make_patient() for _ in range(4))
    for p in (a, b, c, d):
        api.post(f"/api/group-series/{series_id}/enrol/", {"patient": p.pk}, format="json")
    r = api.post(f"/api/group-series/{series_id}/withdraw/", {"patient": a.pk}, format="json")
    assert r.status_code == 200
    assert r.json()["status"] == "withdrawn"
    assert r.json()["waitlist_position"] is None
    assert r.json()["promoted"] == c.pk
    assert Reminder.objects.filter(patient=c, status="pending").count() == 6
    assert Enrolment.objects.get(series_id=series_id, patient=d).status == "waitlisted"
    # Withdrawing a waitlisted person promotes nobody.
    r = api.post(f"/api/group-series/{series_id}/withdraw/", {"patient": d.pk}, format="json")
    assert r.json()["promoted"] is None


def test_withdrawing_someone_not_enrolled_is_404_or_409(api, series_id, make_patient):
    stranger, leaver = make_patient(), make_patient()
    url = f"/api/group-series/{series_id}/withdraw/"
    assert api.post(url, {"patient": stranger.pk}, format="json").status_code == 404
    api.post(f"/api/group-series/{series_id}/enrol/", {"patient": leaver.pk}, format="json")
    assert api.post(url, {"patient": leaver.pk}, format="json").status_code == 200
    assert api.post(url, {"patient": leaver.pk}, format="json").status_code == 409


def test_it_marks_attendance(api, series_id, make_patient, clinician):
    p = make_patient()
    api.post(f"/api/group-series/{series_id}/enrol/", {"patient": p.pk}, format="json")
    session = GroupSeries.objects.get(pk=series_id).sessions.order_by("starts_at").first()
    r = api.post(f"/api/group-sessions/{session.pk}/attendance/",
                 {"patient": p.pk, "status": "late_cancel"}, format="json")
    assert r.status_code == 200
    body = r.json()
    assert (body["session"], body["patient"], body["status"]) == (session.pk, p.pk, "late_cancel")
    assert body["marked_at"]
    assert body["marked_by"] == clinician.pk


def test_attendance_errors(api, series_id, make_patient):
    member, stranger = make_patient(), make_patient()
    api.post(f"/api/group-series/{series_id}/enrol/", {"patient": member.pk}, format="json")
    first, second, _ = GroupSeries.objects.get(pk=series_id).sessions.order_by("starts_at")
    url = f"/api/group-sessions/{first.pk}/attendance/"
    r = api.post(url, {"patient": member.pk, "status": "asleep"}, format="json")
    assert r.status_code == 400 and "status" in r.json()["errors"]
    r = api.post(url, {"patient": stranger.pk, "status": "present"}, format="json")
    assert r.status_code == 400 and "patient" in r.json()["errors"]
    assert api.post(f"/api/group-sessions/{second.pk}/cancel/").status_code == 200
    r = api.post(f"/api/group-sessions/{second.pk}/attendance/",
                 {"patient": member.pk, "status": "present"}, format="json")
    assert r.status_code == 409
    assert api.post("/api/group-sessions/999999/attendance/",
                    {"patient": member.pk, "status": "present"}, format="json").status_code == 404


def test_cancelling_a_session_by_api(api, series_id, make_patient):
    p = make_patient()
    api.post(f"/api/group-series/{series_id}/enrol/", {"patient": p.pk}, format="json")
    session = GroupSeries.objects.get(pk=series_id).sessions.order_by("starts_at").first()
    r = api.post(f"/api/group-sessions/{session.pk}/cancel/")
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled" and r.json()["id"] == session.pk
    assert not Reminder.objects.filter(target_id=session.pk, status="pending").exists()
    assert api.post(f"/api/group-sessions/{session.pk}/cancel/").status_code == 409
    series = api.get(f"/api/group-series/{series_id}/").json()
    assert [s["status"] for s in series["sessions"]][0] == "cancelled"


def test_the_schema_documents_the_group_endpoints(api):
    r = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in ("/api/group-series/", "/api/group-series/{id}/",
                 "/api/group-series/{id}/enrol/", "/api/group-series/{id}/withdraw/",
                 "/api/group-sessions/{id}/attendance/", "/api/group-sessions/{id}/cancel/"):
        assert path in paths, path
    enrol = paths["/api/group-series/{id}/enrol/"]["post"]
    assert "201" in enrol["responses"] and "409" in enrol["responses"]


def test_series_list_query_count_is_constant(api, make_series, django_assert_max_num_queries):
    for _ in range(3):
        make_series(capacity=4, n=3)
    with django_assert_max_num_queries(10) as small:
        assert api.get("/api/group-series/?page_size=3").status_code == 200
    for _ in range(12):
        make_series(capacity=4, n=6)
    with django_assert_max_num_queries(len(small.captured_queries)) as _:
        r = api.get("/api/group-series/?page_size=15")
    assert len(r.json()["results"]) == 15
