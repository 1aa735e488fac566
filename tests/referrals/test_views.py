"""The pages: the triage queue (filters, order, SLA badge, htmx inline actions, bulk
triage, constant queries), the referral page, referring, and the MDT meeting pages."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from ipm import roles
from ipm.models import AuditEvent
from referrals.models import MdtAgendaItem, MdtMeeting, Referral
from referrals.services import mdt_agenda_add, mdt_meeting_create
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def coord_client(client, coordinator):
    client.force_login(coordinator)
    return client


def _row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="referral-(\d+)"', html)]


def test_the_queue_shows_urgent_first_then_longest_waiting(coord_client, make_referral,
                                                           make_patient):
    old = make_referral(make_patient("Olga", "Old"), days_ago=10)
    recent = make_referral(make_patient("Rita", "Recent"), days_ago=1)
    urgent = make_referral(make_patient("Uma", "Urgent"), "pain_medicine", priority="urgent")
    html = coord_client.get("/referrals/").content.decode()
    assert _row_ids(html) == [urgent.pk, old.pk, recent.pk]
    assert "10 days" in html and "Over SLA" in html


def test_the_queue_hides_closed_referrals_by_default(coord_client, make_referral, patient):
    open_ = make_referral(patient)
    closed = make_referral(patient, status="declined")
    assert _row_ids(coord_client.get("/referrals/").content.decode()) == [open_.pk]
    assert closed.pk in _row_ids(coord_client.get("/referrals/?status=all").content.decode())


@pytest.mark.parametrize(("query", "expected"), [
    ("status=triaged", ["triaged"]),
    ("service=yoga", ["yoga"]),
    ("priority=urgent", ["urgent"]),
    ("assignee=me", ["mine"]),
    ("breached=on", ["old"]),
])
def test_the_queue_filters(query, expected, coord_client, coordinator, make_referral,
                           make_patient):
    from referrals.services import referral_assign

    rows = {
        "triaged": make_referral(make_patient("T", "T"), status="triaged"),
        "yoga": make_referral(make_patient("Y", "Y"), "yoga"),
        "urgent": make_referral(make_patient("U", "U"), priority="urgent"),
        "mine": make_referral(make_patient("M", "M")),
        "old": make_referral(make_patient("O", "O"), days_ago=30),
    }
    referral_assign(referral=rows["mine"], assignee=coordinator, actor=coordinator)
    ids = _row_ids(coord_client.get(f"/referrals/?{query}").content.decode())
    assert ids == [rows[k].pk for k in expected]


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_queue_page_runs_a_constant_number_of_queries(coord_client, make_referral,
                                                          make_patient,
                                                          django_assert_max_num_queries):
    for i in range(30):
        make_referral(make_patient(f"P{i}", "Q"), ["physio", "yoga"][i % 2], days_ago=i,
                      priority="urgent" if i % 5 == 0 else "routine")
    coord_client.get("/referrals/")
    small = _queries(coord_client, "/referrals/?page_size=5")
    assert _queries(coord_client, "/referrals/?page_size=30") == small
    # session, user, roles, services, staff, count, page, audit row, session save (+ its
    # savepoint and release); a little room for site-wide middleware.
    with django_assert_max_num_queries(13):
        r = coord_client.get("/referrals/?page_size=30")
    assert len(_row_ids(r.content.decode())) == 30


def test_the_queue_audits_the_patients_shown(coord_client, coordinator, referral):
    coord_client.get("/referrals/")
    row = AuditEvent.objects.filter(action="list", actor=coordinator).latest("id")
    assert row.detail["patient_ids"] == [referral.patient_id]


def test_an_inline_triage_swaps_the_row(coord_client, referral):
    r = coord_client.post(f"/referrals/{referral.pk}/transition/",
                          {"to": "triaged", "from": "new", "row": "queue"}, HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert r.status_code == 200
    assert html.lstrip().startswith(f'<tr id="referral-{referral.pk}"')
    assert "Triaged" in html and ">Schedule<" in html
    referral.refresh_from_db()
    assert referral.status == "triaged"


def test_an_inline_refusal_shows_in_the_row_and_changes_nothing(coord_client, referral,
                                                                coordinator):
    from referrals.services import referral_transition

    referral_transition(referral=referral, to="triaged", actor=coordinator)
    # Someone else triaged it; this user still sees "new" and triages again.
    r = coord_client.post(f"/referrals/{referral.pk}/transition/",
                          {"to": "triaged", "from": "new", "row": "queue"}, HTTP_HX_REQUEST="true")
    assert 'role="alert"' in r.content.decode()
    assert "someone else changed it first" in r.content.decode()
    assert referral.events.count() == 2


def test_declining_from_the_queue_needs_a_reason(coord_client, referral):
    r = coord_client.post(f"/referrals/{referral.pk}/transition/",
                          {"to": "declined", "row": "queue"}, HTTP_HX_REQUEST="true")
    assert "reason is required" in r.content.decode()
    referral.refresh_from_db()
    assert referral.status == "new"
    coord_client.post(f"/referrals/{referral.pk}/transition/",
                      {"to": "declined", "reason": "Seen privately", "row": "queue"},
                      HTTP_HX_REQUEST="true")
    referral.refresh_from_db()
    assert (referral.status, referral.status_reason) == ("declined", "Seen privately")


def test_a_plain_post_redirects_back_with_a_message(coord_client, referral):
    r = coord_client.post(f"/referrals/{referral.pk}/transition/",
                          {"to": "in_treatment", "next": "/referrals/?status=new"}, follow=True)
    assert r.redirect_chain[-1][0] == "/referrals/?status=new"
    assert "cannot move from &#x27;new&#x27; to &#x27;in_treatment&#x27;" in r.content.decode()


def test_it_refuses_an_offsite_next(coord_client, referral):
    r = coord_client.post(f"/referrals/{referral.pk}/transition/",
                          {"to": "triaged", "next": "https://evil.example/"})
    assert r["Location"] == f"/referrals/{referral.pk}/"


def test_assign_to_me_from_the_queue(coord_client, coordinator, referral):
    r = coord_client.post(f"/referrals/{referral.pk}/assign/",
                          {"assignee": "me", "row": "queue"}, HTTP_HX_REQUEST="true")
    assert "assigned to Corey" in r.content.decode()
    referral.refresh_from_db()
    assert referral.assignee == coordinator


def test_bulk_triage_of_the_ticked_rows(coord_client, make_referral, make_patient):
    a = make_referral(make_patient("A", "A"))
    b = make_referral(make_patient("B", "B"))
    c = make_referral(make_patient("C", "C"))
    r = coord_client.post("/referrals/bulk/", {"ids": [a.pk, b.pk], "action": "triage",
                                               "next": "/referrals/"}, follow=True)
    assert "Triaged 2 referrals." in r.content.decode()
    statuses = dict(Referral.objects.values_list("pk", "status"))
    assert (statuses[a.pk], statuses[b.pk], statuses[c.pk]) == ("triaged", "triaged", "new")


def test_the_referral_page_shows_history_and_patient_context(coord_client, coordinator,
                                                             make_referral, make_patient):
    from referrals.services import referral_transition

    patient = make_patient("Nia", "Lowe", risk_group="high", red_flag=True)
    referral = make_referral(patient, "physio")
    other = make_referral(patient, "psychology")
    referral_transition(referral=referral, to="triaged", actor=coordinator, note="Physio first")
    html = coord_client.get(f"/referrals/{referral.pk}/").content.decode()
    assert "Nia Lowe" in html and patient.mrn in html and "High risk" in html
    assert "Red flags" in html and "red_flag" not in html  # issue 23: flags in words
    assert "Physio first" in html and "New → Triaged" in html
    assert f"/referrals/{other.pk}/" in html
    assert AuditEvent.objects.filter(action="read", object_id=str(referral.pk),
                                     patient_id=patient.pk, actor=coordinator).exists()


def test_the_referral_page_runs_a_bounded_number_of_queries(coord_client, coordinator,
                                                            make_referral, patient,
                                                            django_assert_max_num_queries):
    from referrals.services import referral_transition

    referral = make_referral(patient)
    for _ in range(3):
        make_referral(patient, "yoga")
    for step in ("triaged", "scheduled", "in_treatment"):
        referral_transition(referral=referral, to=step, actor=coordinator)
    with django_assert_max_num_queries(14):
        coord_client.get(f"/referrals/{referral.pk}/")


def test_it_refers_a_patient_from_the_page(client, clinician, patient):
    client.force_login(clinician)
    form = client.get(f"/referrals/new/?patient={patient.pk}").content.decode()
    assert f'value="{patient.pk}"' in form
    r = client.post("/referrals/new/", {"patient": patient.pk, "service": "psychology",
                                        "priority": "urgent", "reason": "Low mood",
                                        "needs_mdt": "on"})
    referral = Referral.objects.get()
    assert r["Location"] == f"/referrals/{referral.pk}/"
    assert (referral.service.code, referral.priority, referral.needs_mdt) == ("psychology", "urgent", True)


def test_it_refuses_an_unknown_patient_on_the_page(client, clinician):
    client.force_login(clinician)
    r = client.post("/referrals/new/", {"patient": 99999, "service": "physio",
                                        "priority": "routine", "reason": "x"})
    assert r.status_code == 200
    assert "No patient with id 99999" in r.content.decode()
    assert not Referral.objects.exists()


# --- MDT pages ---------------------------------------------------------------------------

def test_a_coordinator_plans_a_meeting_and_fills_its_agenda(coord_client, make_referral,
                                                           make_patient):
    complex_ = make_referral(make_patient("Red", "Flag", red_flag=True), "pain_medicine")
    page = coord_client.get("/referrals/mdt/").content.decode()
    assert "Red Flag" in page and "Red flags" in page
    r = coord_client.post("/referrals/mdt/new/", {
        "date": (timezone.localdate() + timedelta(days=3)).isoformat(), "time": "13:00",
        "duration_minutes": 60, "mode": "virtual", "video_link": "https://meet.example.org/m"})
    meeting = MdtMeeting.objects.get()
    assert r["Location"] == f"/referrals/mdt/{meeting.pk}/"
    coord_client.post(f"/referrals/mdt/{meeting.pk}/attendees/",
                      {"discipline": "Psychology", "name": "Dr Moreno"})
    coord_client.post("/referrals/mdt/agenda/", {"meeting": meeting.pk, "referral": complex_.pk})
    html = coord_client.get(f"/referrals/mdt/{meeting.pk}/").content.decode()
    assert "Dr Moreno" in html and "Red Flag" in html and "Record decision" in html
    assert "referrals/referrals.css" in html  # the print stylesheet


def test_a_meeting_without_a_place_is_refused_on_the_page(coord_client):
    r = coord_client.post("/referrals/mdt/new/", {
        "date": "2030-01-07", "time": "13:00", "duration_minutes": 60, "mode": "virtual"})
    assert r.status_code == 400
    assert "Required for a virtual meeting" in r.content.decode()
    assert not MdtMeeting.objects.exists()


@pytest.fixture
def agenda(coordinator, make_referral, make_patient):
    meeting = mdt_meeting_create(scheduled_for=timezone.now(),  # decisions from its day on
                                 mode="in_person", location="Room 4", actor=coordinator)
    items = [mdt_agenda_add(meeting=meeting, actor=coordinator,
                            referral=make_referral(make_patient(f"Pat{i}", "Mdt",
                                                                risk_group="high"), "physio"))
             for i in range(3)]
    return meeting, items


def test_the_team_records_decisions_on_the_meeting_page(client, clinician, agenda):
    meeting, items = agenda
    client.force_login(clinician)
    physio = make_user("phil", roles.CLINICIAN)
    r = client.post(f"/referrals/mdt/agenda/{items[0].pk}/decision/", {
        f"item{items[0].pk}-decision": "services",
        f"item{items[0].pk}-services": ["physio", "psychology"]})
    assert r.status_code == 302
    client.post(f"/referrals/mdt/agenda/{items[1].pk}/decision/", {
        f"item{items[1].pk}-decision": "joint_appointment",
        f"item{items[1].pk}-clinicians": [clinician.pk, physio.pk]})
    client.post(f"/referrals/mdt/agenda/{items[2].pk}/decision/", {
        f"item{items[2].pk}-decision": "advice",
        f"item{items[2].pk}-advice": "Graded activity; review in 3 months."})
    statuses = [Referral.objects.get(pk=i.referral_id).status for i in items]
    assert statuses == ["triaged", "triaged", "declined"]
    html = client.get(f"/referrals/mdt/{meeting.pk}/").content.decode()
    assert html.count("Decision: ") >= 3 and "Graded activity" in html


def test_a_refused_decision_shows_its_error_and_changes_nothing(client, clinician, agenda):
    meeting, items = agenda
    client.force_login(clinician)
    r = client.post(f"/referrals/mdt/agenda/{items[0].pk}/decision/", {
        f"item{items[0].pk}-decision": "joint_appointment",
        f"item{items[0].pk}-clinicians": [clinician.pk]})
    assert r.status_code == 400
    assert "Choose two or more clinicians." in r.content.decode()
    assert MdtAgendaItem.objects.get(pk=items[0].pk).decision == ""


def test_the_meeting_page_runs_a_constant_number_of_queries(coord_client, coordinator, agenda,
                                                            make_referral, make_patient,
                                                            django_assert_max_num_queries):
    meeting, _ = agenda
    url = f"/referrals/mdt/{meeting.pk}/"
    coord_client.get(url)
    three = _queries(coord_client, url)
    for i in range(6):
        mdt_agenda_add(meeting=meeting, actor=coordinator, referral=make_referral(
            make_patient(f"Extra{i}", "Mdt", red_flag=True), "pain_medicine"))
    assert _queries(coord_client, url) == three
    # session, user, roles; meeting, attendees, items, 3 decision prefetches; audit row;
    # services, clinicians, staff, candidates; session save (+ savepoint, release)
    with django_assert_max_num_queries(19):
        coord_client.get(url)
