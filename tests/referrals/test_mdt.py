"""MDT review: meetings, the agenda, and the team's decisions moving referrals on through
the same state machine, all or nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ipm import roles
from ipm.errors import Conflict, InvalidInput
from referrals.models import MdtAgendaItem, Referral, Service
from referrals.services import (
    mdt_agenda_add,
    mdt_agenda_remove,
    mdt_attendee_add,
    mdt_decision_record,
    mdt_meeting_create,
    referral_transition,
)
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting(coordinator, clinician):
    # Today: decisions are recorded at (or after) the meeting, never before its day.
    return mdt_meeting_create(
        scheduled_for=timezone.now(), mode="in_person",
        location="Room 4, Pain Centre", actor=coordinator,
        attendees=[("Medicine", clinician, ""), ("Physiotherapy", None, "Sam Patel")])


@pytest.fixture
def complex_referral(make_referral, make_patient):
    return make_referral(make_patient("Hana", "Ito", risk_group="high"), "physio")


@pytest.fixture
def item(meeting, complex_referral, coordinator):
    return mdt_agenda_add(meeting=meeting, referral=complex_referral, actor=coordinator,
                          note="Physio alone, or with psychology?")


def test_it_plans_a_meeting_with_attendees_by_discipline(meeting):
    assert [(a.discipline, a.display_name) for a in meeting.attendees.all()] == [
        ("Medicine", "Casey"), ("Physiotherapy", "Sam Patel")]


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"mode": "virtual", "video_link": ""}, "video_link"),
    ({"mode": "in_person", "location": ""}, "location"),
    ({"mode": "telepathy"}, "mode"),
])
def test_it_refuses_a_meeting_without_a_place(kwargs, field, coordinator):
    with pytest.raises(InvalidInput) as exc:
        mdt_meeting_create(scheduled_for=timezone.now(), actor=coordinator, **kwargs)
    assert field in exc.value.errors


def test_it_refuses_an_attendee_without_a_name(meeting, coordinator):
    with pytest.raises(InvalidInput):
        mdt_attendee_add(meeting=meeting, discipline="Psychology", actor=coordinator)


def test_it_puts_a_referral_on_the_agenda_with_why_it_is_complex(item):
    assert item.criteria == ["high_risk"]
    assert item.position == 1


def test_it_refuses_the_same_referral_twice_while_undecided(item, meeting, coordinator,
                                                            complex_referral):
    other = mdt_meeting_create(scheduled_for=timezone.now() + timedelta(days=9),
                               mode="virtual", video_link="https://meet.example.org/a",
                               actor=coordinator)
    with pytest.raises(Conflict):
        mdt_agenda_add(meeting=other, referral=complex_referral, actor=coordinator)


def test_it_refuses_a_referral_past_triage(meeting, make_referral, patient, coordinator):
    scheduled = make_referral(patient, status="scheduled")
    with pytest.raises(Conflict):
        mdt_agenda_add(meeting=meeting, referral=scheduled, actor=coordinator)


def test_services_decision_creates_triaged_referrals_and_triages_this_one(item, coordinator,
                                                                        complex_referral):
    chosen = [Service.objects.get(code=c) for c in ("physio", "psychology")]
    decided = mdt_decision_record(item=item, decision="services", services=chosen,
                                  actor=coordinator, note="Start both in parallel.")
    complex_referral.refresh_from_db()
    assert complex_referral.status == "triaged"
    note = complex_referral.events.last().note
    assert "MDT meeting" in note and "Pain psychology" in note and "Start both" in note
    created = list(decided.created_referrals.all())
    assert [r.service.code for r in created] == ["psychology"]  # physio is this referral
    assert created[0].status == "triaged"
    assert created[0].patient_id == complex_referral.patient_id
    assert created[0].priority == complex_referral.priority
    assert [e.to_status for e in created[0].events.all()] == ["new", "triaged"]
    assert decided.decided_by == coordinator and decided.decided_at is not None


def test_services_decision_does_not_duplicate_an_open_referral(item, coordinator,
                                                               complex_referral, make_referral):
    make_referral(complex_referral.patient, "psychology")
    decided = mdt_decision_record(item=item, decision="services", actor=coordinator,
                                  services=[Service.objects.get(code="psychology")])
    assert decided.created_referrals.count() == 0
    assert Referral.objects.filter(patient=complex_referral.patient,
                                   service__code="psychology").count() == 1


def test_joint_appointment_needs_two_clinicians(item, coordinator, clinician,
                                                complex_referral):
    with pytest.raises(InvalidInput) as exc:
        mdt_decision_record(item=item, decision="joint_appointment", clinicians=[clinician],
                            actor=coordinator)
    assert "clinicians" in exc.value.errors
    with pytest.raises(InvalidInput):
        mdt_decision_record(item=item, decision="joint_appointment",
                            clinicians=[clinician, coordinator], actor=coordinator)
    complex_referral.refresh_from_db()
    assert complex_referral.status == "new"
    item.refresh_from_db()
    assert item.decision == ""


def test_joint_appointment_triages_naming_the_clinicians(item, coordinator, clinician,
                                                        complex_referral):
    physio = make_user("phil", roles.CLINICIAN)
    decided = mdt_decision_record(item=item, decision="joint_appointment", actor=coordinator,
                                  clinicians=[clinician, physio])
    complex_referral.refresh_from_db()
    assert complex_referral.status == "triaged"
    assert "Casey and Phil" in complex_referral.events.last().note
    assert set(decided.joint_clinicians.all()) == {clinician, physio}


def test_advice_declines_with_the_advice_as_reason(item, coordinator, complex_referral):
    mdt_decision_record(item=item, decision="advice", actor=coordinator,
                        advice="Continue the home exercise plan; re-refer if no better in 8 weeks.")
    complex_referral.refresh_from_db()
    assert complex_referral.status == "declined"
    assert complex_referral.status_reason.startswith("Continue the home exercise plan")
    assert complex_referral.events.last().reason.startswith("Continue the home")


def test_advice_needs_the_advice(item, coordinator, complex_referral):
    with pytest.raises(InvalidInput) as exc:
        mdt_decision_record(item=item, decision="advice", actor=coordinator)
    assert "advice" in exc.value.errors
    complex_referral.refresh_from_db()
    assert complex_referral.status == "new"


def test_a_decision_is_recorded_once(item, coordinator):
    mdt_decision_record(item=item, decision="advice", advice="Self-management.",
                        actor=coordinator)
    with pytest.raises(Conflict):
        mdt_decision_record(item=item, decision="services", actor=coordinator,
                            services=[Service.objects.get(code="yoga")])


def test_a_decision_on_a_referral_moved_meanwhile_changes_nothing(item, coordinator,
                                                                  complex_referral):
    referral_transition(referral=complex_referral, to="cancelled", reason="Moved away",
                        actor=coordinator)
    with pytest.raises(Conflict):
        mdt_decision_record(item=item, decision="services", actor=coordinator,
                            services=[Service.objects.get(code="psychology")])
    assert not Referral.objects.filter(service__code="psychology").exists()
    item.refresh_from_db()
    assert item.decision == ""


def test_an_undecided_item_can_be_taken_off_a_decided_one_cannot(item, coordinator):
    mdt_decision_record(item=item, decision="advice", advice="GP to manage.", actor=coordinator)
    with pytest.raises(Conflict):
        mdt_agenda_remove(item=item, actor=coordinator)
    assert MdtAgendaItem.objects.filter(pk=item.pk).exists()


def test_a_requested_review_is_answered_by_the_decision(meeting, make_referral, patient,
                                                        coordinator):
    from referrals.services import referral_request_mdt

    referral = make_referral(patient, "yoga", status="triaged")
    referral_request_mdt(referral=referral, actor=coordinator)
    item = mdt_agenda_add(meeting=meeting, referral=referral, actor=coordinator)
    assert item.criteria == ["requested"]
    mdt_decision_record(item=item, decision="services", actor=coordinator,
                        services=[Service.objects.get(code="yoga")])
    referral.refresh_from_db()
    assert referral.status == "triaged" and referral.needs_mdt is False


def test_it_refuses_a_decision_before_the_meeting_day(coordinator, complex_referral):
    # Issue 19: decisions could be recorded on a meeting that had not happened yet.
    future = mdt_meeting_create(scheduled_for=timezone.now() + timedelta(days=2),
                                mode="in_person", location="Room 4", actor=coordinator)
    item = mdt_agenda_add(meeting=future, referral=complex_referral, actor=coordinator)
    with pytest.raises(Conflict) as exc:
        mdt_decision_record(item=item, decision="advice", advice="GP to manage.",
                            actor=coordinator)
    assert "meeting" in exc.value.errors
    item.refresh_from_db()
    complex_referral.refresh_from_db()
    assert item.decision == "" and complex_referral.status == "new"
