"""The write path: every allowed and refused transition through referral_transition,
assignment, creation, bulk triage, and the race of two coordinators on PostgreSQL."""

import threading

import pytest
from django.db import connection

from ipm.errors import Conflict, InvalidInput, NotFound
from ipm.models import AuditEvent
from referrals import transitions as t
from referrals.models import Referral, ReferralEvent, Service
from referrals.services import (
    referral_assign,
    referral_create,
    referral_transition,
    referrals_triage_many,
)

pytestmark = pytest.mark.django_db

# docs/product.md §3.2, spelled out: every other pair of states is refused.
SPEC_ALLOWED = {
    ("new", "triaged"), ("triaged", "scheduled"), ("scheduled", "in_treatment"),
    ("in_treatment", "discharged"),
    ("new", "declined"), ("triaged", "declined"),
    ("new", "cancelled"), ("triaged", "cancelled"), ("scheduled", "cancelled"),
    ("in_treatment", "cancelled"),
}
ALL_PAIRS = [(a, b) for a in t.STATES for b in t.STATES]


@pytest.mark.parametrize(("current", "to"), sorted(SPEC_ALLOWED))
def test_it_applies_each_allowed_transition_and_records_it(current, to, make_referral,
                                                           patient, coordinator):
    referral = make_referral(patient, status=current)
    before = referral.events.count()
    moved = referral_transition(referral=referral, to=to, actor=coordinator,
                                note="seen in clinic", reason="patient asked")
    referral.refresh_from_db()
    assert referral.status == to == moved.status
    event = referral.events.last()
    assert referral.events.count() == before + 1
    assert (event.from_status, event.to_status, event.actor) == (current, to, coordinator)
    assert event.at is not None
    assert event.note == "seen in clinic"
    if to in t.REASON_REQUIRED:
        assert event.reason == "patient asked"
        assert referral.status_reason == "patient asked"
        assert referral.closed_at is not None
    assert AuditEvent.objects.filter(action=f"transition:{current}->{to}",
                                     object_id=str(referral.pk),
                                     patient_id=patient.pk).exists()


@pytest.mark.parametrize(("current", "to"), [p for p in ALL_PAIRS if p not in SPEC_ALLOWED])
def test_it_refuses_each_other_transition_and_changes_nothing(current, to, make_referral,
                                                              patient, coordinator):
    referral = make_referral(patient, status=current)
    events = referral.events.count()
    updated_at = Referral.objects.get(pk=referral.pk).updated_at
    with pytest.raises(Conflict) as exc:
        referral_transition(referral=referral, to=to, actor=coordinator, reason="because")
    assert "Allowed from" in exc.value.message
    fresh = Referral.objects.get(pk=referral.pk)
    assert fresh.status == current
    assert fresh.updated_at == updated_at
    assert fresh.events.count() == events


@pytest.mark.parametrize("to", ["declined", "cancelled"])
def test_it_refuses_to_decline_or_cancel_without_a_reason(to, referral, coordinator):
    with pytest.raises(InvalidInput) as exc:
        referral_transition(referral=referral, to=to, actor=coordinator)
    assert "reason" in exc.value.errors
    referral.refresh_from_db()
    assert referral.status == "new"
    assert referral.events.count() == 1


def test_it_takes_a_note_alone_as_the_reason(referral, coordinator):
    referral_transition(referral=referral, to="declined", actor=coordinator,
                        note="Already under the spinal team")
    referral.refresh_from_db()
    assert referral.status_reason == "Already under the spinal team"
    assert referral.events.last().reason == "Already under the spinal team"


def test_it_refuses_an_unknown_state_as_bad_input(referral, coordinator):
    with pytest.raises(InvalidInput):
        referral_transition(referral=referral, to="teleported", actor=coordinator)


def test_it_reports_a_missing_referral(coordinator):
    with pytest.raises(NotFound):
        referral_transition(referral=999999, to="triaged", actor=coordinator)


def test_it_stamps_the_clock_on_the_way(referral, coordinator):
    for step in ("triaged", "scheduled", "in_treatment", "discharged"):
        referral_transition(referral=referral, to=step, actor=coordinator)
    referral.refresh_from_db()
    assert referral.triaged_at <= referral.scheduled_at <= referral.first_visit_at
    assert referral.closed_at >= referral.first_visit_at


def test_it_refuses_when_someone_moved_the_referral_first(referral, coordinator):
    referral_transition(referral=referral, to="triaged", actor=coordinator)
    with pytest.raises(Conflict) as exc:
        # triaged → declined is allowed, but the user decided while it was still new.
        referral_transition(referral=referral, to="declined", reason="not suitable",
                            expected="new", actor=coordinator)
    assert "someone else" in exc.value.message
    referral.refresh_from_db()
    assert referral.status == "triaged"


def test_it_creates_a_new_referral_with_its_first_history_row(patient, clinician):
    referral = referral_create(patient=patient, service=Service.objects.get(code="yoga"),
                               reason="  Deconditioning ", priority="urgent", actor=clinician)
    assert (referral.status, referral.priority_rank, referral.reason) == ("new", 0, "Deconditioning")
    event = referral.events.get()
    assert (event.from_status, event.to_status, event.actor) == ("", "new", clinician)


@pytest.mark.parametrize(("field", "kwargs"), [
    ("reason", {"reason": " "}),
    ("priority", {"priority": "asap"}),
])
def test_it_refuses_a_bad_referral_and_saves_nothing(field, kwargs, patient, clinician, service):
    args = {"patient": patient, "service": service, "reason": "Pain", "actor": clinician, **kwargs}
    with pytest.raises(InvalidInput) as exc:
        referral_create(**args)
    assert field in exc.value.errors
    assert not Referral.objects.exists()


def test_it_refuses_a_referral_to_an_inactive_service(patient, clinician, service):
    service.active = False
    service.save(update_fields=["active"])
    with pytest.raises(InvalidInput) as exc:
        referral_create(patient=patient, service=service, reason="Pain", actor=clinician)
    assert "service" in exc.value.errors


def test_it_assigns_and_unassigns(referral, coordinator, clinician):
    referral_assign(referral=referral, assignee=clinician, actor=coordinator)
    referral.refresh_from_db()
    assert referral.assignee == clinician
    referral_assign(referral=referral, assignee=None, actor=coordinator)
    referral.refresh_from_db()
    assert referral.assignee is None
    assert AuditEvent.objects.filter(action="assign", object_id=str(referral.pk)).count() == 2


def test_it_refuses_to_assign_to_someone_without_a_patient_role(referral, coordinator,
                                                                  admin_user):
    with pytest.raises(InvalidInput) as exc:
        referral_assign(referral=referral, assignee=admin_user, actor=coordinator)
    assert "assignee" in exc.value.errors
    referral.refresh_from_db()
    assert referral.assignee is None


def test_it_refuses_to_assign_a_closed_referral(make_referral, patient, coordinator):
    referral = make_referral(patient, status="declined")
    with pytest.raises(Conflict):
        referral_assign(referral=referral, assignee=coordinator, actor=coordinator)


def test_bulk_triage_reports_the_ones_it_could_not_triage(make_referral, patient, coordinator):
    fresh = [make_referral(patient) for _ in range(2)]
    moved = make_referral(patient, status="triaged")
    done, refused = referrals_triage_many(
        referral_ids=[fresh[0].pk, moved.pk, fresh[1].pk], actor=coordinator)
    assert done == [fresh[0].pk, fresh[1].pk]
    assert list(refused) == [moved.pk]
    assert set(Referral.objects.values_list("status", flat=True)) == {"triaged"}
    assert ReferralEvent.objects.filter(referral=moved, to_status="triaged").count() == 1


def _race(referral_pk, attempts):
    """Run each attempt in its own thread (own connection) released at once by a barrier;
    return the outcomes."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list = [None] * len(attempts)

    def run(i, kwargs):
        try:
            barrier.wait(timeout=10)
            referral_transition(referral=referral_pk, **kwargs)
            outcomes[i] = "ok"
        except Conflict as exc:
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, kw)) for i, kw in enumerate(attempts)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_coordinators_triaging_at_once_cannot_both_win(make_referral, patient,
                                                           coordinator):
    referral = make_referral(patient)
    outcomes = _race(referral.pk, [{"to": "triaged", "actor": coordinator, "note": "A"},
                                   {"to": "triaged", "actor": coordinator, "note": "B"}])
    assert outcomes.count("ok") == 1
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    assert ReferralEvent.objects.filter(referral_id=referral.pk, to_status="triaged").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_triage_and_a_decline_on_the_same_view_cannot_both_win(make_referral, patient,
                                                                  coordinator):
    referral = make_referral(patient)
    outcomes = _race(referral.pk, [
        {"to": "triaged", "actor": coordinator, "expected": "new"},
        {"to": "declined", "actor": coordinator, "expected": "new", "reason": "GP to manage"},
    ])
    assert outcomes.count("ok") == 1
    fresh = Referral.objects.get(pk=referral.pk)
    assert fresh.status in ("triaged", "declined")
    assert fresh.events.count() == 2  # created + the one winner
