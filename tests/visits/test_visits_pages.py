"""The /groups/ pages: list and agenda, creating a series, the roster, the attendance
sheet (htmx), the billing export, and their query counts."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from ipm.models import AuditEvent
from referrals.models import Service
from visits import services
from visits.models import Attendance, Enrolment, GroupSeries

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator_client(client, coordinator):
    client.force_login(coordinator)
    return client


def test_it_creates_a_weekly_series_from_the_form(coordinator_client, clinician, coordinator):
    service = Service.objects.get(code="group_programme")
    r = coordinator_client.post("/groups/new/", {
        "name": "Back on track", "service": service.pk, "capacity": 8,
        "lead_clinician": clinician.pk, "facilitators": [coordinator.pk],
        "location": "Room 4", "video_link": "", "first_start": "2031-03-04T10:00",
        "weeks": 6, "duration_minutes": 90})
    series = GroupSeries.objects.get(name="Back on track")
    assert r.status_code == 302 and r.url == f"/groups/{series.pk}/"
    starts = [timezone.localtime(s.starts_at) for s in series.sessions.order_by("starts_at")]
    assert [s.strftime("%Y-%m-%d %H:%M") for s in starts] == [
        "2031-03-04 10:00", "2031-03-11 10:00", "2031-03-18 10:00", "2031-03-25 10:00",
        "2031-04-01 10:00", "2031-04-08 10:00"]  # 10:00 local across the clock change
    assert series.lead_clinician == clinician
    page = coordinator_client.get(r.url)
    assert page.status_code == 200
    assert b"Back on track" in page.content


def test_the_form_shows_errors_and_saves_nothing(coordinator_client):
    r = coordinator_client.post("/groups/new/", {"name": "", "capacity": 0, "weeks": 0})
    assert r.status_code == 200
    assert b"This field is required" in r.content
    assert not GroupSeries.objects.exists()


def test_the_preview_lists_the_planned_dates(coordinator_client):
    r = coordinator_client.get("/groups/new/preview/", {"first_start": "2031-01-07T18:30",
                                                        "weeks": 3, "duration_minutes": 60},
                               HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    text = r.content.decode()
    assert "3 sessions" in text
    assert "Tue 7 Jan 2031, 18:30" in text and "Tue 21 Jan 2031, 18:30" in text


def test_enrol_and_withdraw_from_the_roster(coordinator_client, make_series, make_patient):
    series = make_series(capacity=1)
    a, b = make_patient("Ann"), make_patient("Ben")
    coordinator_client.post(f"/groups/{series.pk}/enrol/", {"patient": a.pk})
    r = coordinator_client.post(f"/groups/{series.pk}/enrol/", {"patient": b.pk}, follow=True)
    assert b"waitlist at position 1" in r.content
    again = coordinator_client.post(f"/groups/{series.pk}/enrol/", {"patient": b.pk}, follow=True)
    assert b"already waitlisted" in again.content
    r = coordinator_client.post(f"/groups/{series.pk}/withdraw/", {"patient": a.pk}, follow=True)
    assert b"promoted from the waitlist" in r.content
    assert Enrolment.objects.get(series=series, patient=b).status == "enrolled"


def test_the_patient_search_finds_by_name_and_mrn_and_is_audited(coordinator_client, make_series,
                                                                 make_patient, coordinator):
    series = make_series(capacity=2)
    p = make_patient("Grace", "Hopper")
    by_name = coordinator_client.get(f"/groups/{series.pk}/patients/", {"q": "grace hop"},
                                     HTTP_HX_REQUEST="true")
    assert b"Grace Hopper" in by_name.content and b"Enrol" in by_name.content
    by_mrn = coordinator_client.get(f"/groups/{series.pk}/patients/", {"q": p.mrn})
    assert b"Grace Hopper" in by_mrn.content
    assert AuditEvent.objects.filter(action="list", detail__patient_ids=[p.pk]).exists()


def test_the_attendance_sheet_marks_with_htmx(coordinator_client, make_series, make_patient,
                                               enrol):
    series = make_series(capacity=3, start=timezone.now() - timedelta(hours=1), n=2)
    p, q = make_patient("Ann"), make_patient("Ben")
    enrol(series, p)
    enrol(series, q)
    session = series.sessions.order_by("starts_at").first()
    sheet = coordinator_client.get(f"/groups/sessions/{session.pk}/")
    assert sheet.status_code == 200
    assert sheet.content.decode().count('data-status="unresolved"') == 2
    r = coordinator_client.post(f"/groups/sessions/{session.pk}/attendance/",
                                {"patient": p.pk, "status": "present"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    html = r.content.decode()
    assert f'id="att-{p.pk}"' in html and 'data-status="present"' in html
    assert 'hx-swap-oob="true"' in html and "1 present" in html and "1 unresolved" in html
    assert Attendance.objects.get(session=session, patient=p).status == "present"


def test_the_attendance_sheet_shows_refusals_in_the_row(coordinator_client, make_series,
                                                        make_patient, enrol, coordinator):
    series = make_series(capacity=3, n=1)
    p = make_patient()
    enrol(series, p)
    session = series.sessions.get()
    services.session_cancel(session=session, actor=coordinator)
    r = coordinator_client.post(f"/groups/sessions/{session.pk}/attendance/",
                                {"patient": p.pk, "status": "present"}, HTTP_HX_REQUEST="true")
    assert b"cancelled" in r.content
    assert not Attendance.objects.exists()


def test_the_billing_csv_lists_attended_sessions_with_linked_clinicians(
        coordinator_client, make_series, make_patient, enrol, coordinator, clinician):
    clinician.first_name, clinician.last_name = "Casey", "Lead"
    clinician.save(update_fields=["first_name", "last_name"])
    series = make_series(capacity=3, start=timezone.now() - timedelta(days=8), n=2,
                         facilitators=[coordinator])
    p, q = make_patient("Ann", "Able"), make_patient("Ben", "Baker")
    enrol(series, p)
    enrol(series, q)
    first, second = series.sessions.order_by("starts_at")
    for session, patient, status in [(first, p, "present"), (first, q, "absent"),
                                     (second, p, "present"), (second, q, "present")]:
        services.attendance_mark(session=session, patient=patient, status=status,
                                 actor=coordinator)
    r = coordinator_client.get(f"/groups/{series.pk}/billing.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert [(row["patient_name"], row["attendance_status"]) for row in rows] == [
        ("Ann Able", "present"), ("Ann Able", "present"), ("Ben Baker", "present")]
    assert rows[0]["session_date"] == timezone.localdate(first.starts_at).isoformat()
    assert rows[0]["patient_mrn"] == p.mrn
    assert rows[0]["lead_clinician_billable"] == "Casey Lead"
    assert rows[0]["facilitators_non_billable"] == "Corey"
    assert rows[0]["session_duration_minutes"] == str(first.duration_minutes)
    assert rows[0]["billable_clinician_username"] == "casey"
    everything = coordinator_client.get(f"/groups/{series.pk}/billing.csv?status=all")
    assert "absent" in everything.content.decode()
    assert AuditEvent.objects.filter(action="export", object_id=str(series.pk)).exists()


def test_the_agenda_groups_upcoming_sessions_by_day(coordinator_client, make_series):
    series = make_series(capacity=3, n=2, name="Yoga for backs")
    r = coordinator_client.get("/groups/agenda/")
    assert r.status_code == 200
    assert r.content.decode().count("Yoga for backs") == 2
    first = series.sessions.order_by("starts_at").first()
    assert f"/groups/sessions/{first.pk}/".encode() in r.content


def test_cancelling_a_session_from_the_page(coordinator_client, make_series):
    series = make_series(capacity=3, n=2)
    session = series.sessions.order_by("starts_at").first()
    r = coordinator_client.post(f"/groups/sessions/{session.pk}/cancel/", follow=True)
    assert b"cancelled" in r.content
    session.refresh_from_db()
    assert session.status == "cancelled"


def test_editing_a_session_moves_it(coordinator_client, make_series, clinician):
    series = make_series(capacity=3, n=2)
    session = series.sessions.order_by("starts_at").first()
    r = coordinator_client.post(f"/groups/sessions/{session.pk}/edit/", {
        "starts_at": "2032-05-05T14:00", "duration_minutes": 60,
        "lead_clinician": clinician.pk})
    assert r.status_code == 302
    session.refresh_from_db()
    assert timezone.localtime(session.starts_at).strftime("%Y-%m-%d %H:%M") == "2032-05-05 14:00"
    assert session.duration_minutes == 60


def _series_with_people(make_series, make_patient, enrol, how_many):
    for i in range(how_many):
        series = make_series(capacity=3, n=4, name=f"Series {i}")
        for _ in range(4):
            enrol(series, make_patient())


def test_the_series_list_costs_the_same_queries_for_more_rows(
        coordinator_client, make_series, make_patient, enrol, django_assert_max_num_queries):
    _series_with_people(make_series, make_patient, enrol, 2)
    coordinator_client.get("/groups/")  # warm the session
    with django_assert_max_num_queries(20) as small:
        coordinator_client.get("/groups/")
    _series_with_people(make_series, make_patient, enrol, 10)
    with django_assert_max_num_queries(len(small.captured_queries)):
        r = coordinator_client.get("/groups/")
    assert r.content.decode().count("/groups/sessions/") >= 10


def test_the_attendance_sheet_costs_the_same_queries_for_more_people(
        coordinator_client, make_series, make_patient, enrol, coordinator,
        django_assert_max_num_queries):
    series = make_series(capacity=30, start=timezone.now() - timedelta(hours=1), n=1)
    session = series.sessions.get()

    def add(n):
        for _ in range(n):
            p = make_patient()
            enrol(series, p)
            services.attendance_mark(session=session, patient=p, status="present",
                                     actor=coordinator)

    add(2)
    coordinator_client.get(f"/groups/sessions/{session.pk}/")
    with django_assert_max_num_queries(20) as small:
        coordinator_client.get(f"/groups/sessions/{session.pk}/")
    add(20)
    with django_assert_max_num_queries(len(small.captured_queries)):
        r = coordinator_client.get(f"/groups/sessions/{session.pk}/")
    assert r.content.decode().count('data-status="present"') == 22


def test_the_series_page_costs_the_same_queries_for_more_people(
        coordinator_client, make_series, make_patient, enrol, django_assert_max_num_queries):
    series = make_series(capacity=5, n=6)
    for _ in range(3):
        enrol(series, make_patient())
    coordinator_client.get(f"/groups/{series.pk}/")
    with django_assert_max_num_queries(25) as small:
        coordinator_client.get(f"/groups/{series.pk}/")
    for _ in range(15):
        enrol(series, make_patient())
    with django_assert_max_num_queries(len(small.captured_queries)):
        r = coordinator_client.get(f"/groups/{series.pk}/")
    assert r.content.decode().count("data-position=") == 13


def test_enrolments_for_patient_summarise_attendance(make_series, make_patient, enrol,
                                                     coordinator, django_assert_num_queries):
    from visits.selectors import enrolments_for_patient

    running = make_series(capacity=3, start=timezone.now() - timedelta(days=15), n=4,
                          name="Running")
    full = make_series(capacity=1, n=2, name="Full")
    p = make_patient()
    enrol(running, p)
    enrol(full, make_patient())
    enrol(full, p)  # waitlisted
    held = list(running.sessions.order_by("starts_at"))[:3]
    for session, status in zip(held, ["present", "absent", "present"], strict=True):
        services.attendance_mark(session=session, patient=p, status=status, actor=coordinator)
    with django_assert_num_queries(2):
        rows = enrolments_for_patient(p)
    by_name = {e.series.name: e for e in rows}
    assert by_name["Running"].summary == {"present": 2, "absent": 1, "late_cancel": 0,
                                          "excused": 0, "held": 3, "unresolved": 0,
                                          "percent": 66}
    assert by_name["Running"].next_session_at == list(running.sessions.order_by("starts_at"))[3].starts_at
    assert by_name["Full"].status == "waitlisted" and by_name["Full"].waitlist_position == 1
    assert by_name["Full"].summary["held"] == 0


def test_the_patient_partial_renders(make_series, make_patient, enrol):
    from django.template.loader import render_to_string

    from visits.selectors import enrolments_for_patient

    series = make_series(capacity=1, name="Living well")
    p = make_patient()
    enrol(series, p)
    html = render_to_string("visits/_patient_enrolments.html",
                            {"group_enrolments": enrolments_for_patient(p)})
    assert "Living well" in html and "Enrolled" in html


def test_adding_sessions_and_raising_capacity_from_the_series_page(coordinator_client,
                                                                  make_series, make_patient,
                                                                  enrol):
    series = make_series(capacity=1, n=2)
    first, second = make_patient(), make_patient()
    enrol(series, first)
    enrol(series, second)
    r = coordinator_client.post(f"/groups/{series.pk}/sessions/add/", {
        "first_start": "2033-01-04T10:00", "weeks": 2, "duration_minutes": 60}, follow=True)
    assert b"2 session(s) added" in r.content
    assert series.sessions.count() == 4
    r = coordinator_client.post(f"/groups/{series.pk}/capacity/", {"capacity": 2}, follow=True)
    assert b"Capacity set to 2" in r.content
    assert Enrolment.objects.get(series=series, patient=second).status == "enrolled"
    r = coordinator_client.post(f"/groups/{series.pk}/capacity/", {"capacity": 1}, follow=True)
    assert b"cannot go below" in r.content
