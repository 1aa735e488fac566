"""Care services: step decisions with history, contacts, goals and their PSFS items."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from care import services
from care.models import Contact, Goal, StepDecision
from ipm.errors import InvalidInput
from ipm.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_it_steps_a_patient_up_and_keeps_the_history(patient, clinician):
    decision = services.step_decide(patient=patient, step=2, reason="PEG unchanged at 12 weeks",
                                    actor=clinician)
    patient.refresh_from_db()
    assert patient.step == 2
    assert (decision.from_step, decision.to_step, decision.direction) == (1, 2, "up")
    services.step_decide(patient=patient, step="1", reason="Back to self-management",
                         actor=clinician)
    patient.refresh_from_db()
    assert patient.step == 1
    assert list(StepDecision.objects.filter(patient=patient).values_list(
        "direction", flat=True)) == ["down", "up"]
    assert AuditEvent.objects.filter(action="care.step_up", patient_id=patient.pk).exists()
    assert AuditEvent.objects.filter(action="update", patient_id=patient.pk,
                                     detail__fields=["step"]).count() == 2


def test_it_records_the_same_step_with_a_reason_as_a_stay_decision(patient, clinician):
    decision = services.step_decide(patient=patient, step=1, reason="Improving slowly",
                                    actor=clinician)
    assert decision.direction == "stay" and (decision.from_step, decision.to_step) == (1, 1)


@pytest.mark.parametrize(("step", "reason", "field"), [
    (2, "", "reason"), (2, "   ", "reason"), (2, None, "reason"), (4, "x", "step"),
    (0, "x", "step"), ("two", "x", "step"), (None, "x", "step"), (True, "x", "step"),
    (2.5, "x", "step"),
])
def test_it_refuses_a_step_decision_without_a_reason_or_with_a_bad_step(
        patient, clinician, step, reason, field):
    with pytest.raises(InvalidInput) as exc:
        services.step_decide(patient=patient, step=step, reason=reason, actor=clinician)
    assert field in exc.value.errors
    patient.refresh_from_db()
    assert patient.step == 1 and not StepDecision.objects.exists()


def test_the_database_refuses_a_decision_whose_direction_does_not_match(patient):
    with pytest.raises(IntegrityError):
        StepDecision.objects.create(patient=patient, from_step=1, to_step=2, direction="down",
                                    reason="x")


def test_it_records_a_contact(patient, coordinator):
    tomorrow = timezone.localdate() + timedelta(days=1)
    contact = services.contact_create(patient=patient, kind="phone", minutes="25",
                                      outcome="reached", note="Agreed a walking plan",
                                      next_contact_on=tomorrow.isoformat(), actor=coordinator)
    assert (contact.minutes, contact.next_contact_on, contact.recorded_by) == (
        25, tomorrow, coordinator)


@pytest.mark.parametrize(("data", "field"), [
    ({"kind": "fax"}, "kind"), ({"outcome": "maybe"}, "outcome"), ({"minutes": 601}, "minutes"),
    ({"minutes": -1}, "minutes"), ({"minutes": "ten"}, "minutes"), ({"minutes": None}, "minutes"),
    ({"next_contact_on": "2020-01-01"}, "next_contact_on"),
    ({"next_contact_on": "soon"}, "next_contact_on"),
    ({"contacted_at": "2999-01-01T10:00:00Z"}, "contacted_at"),
])
def test_it_refuses_a_bad_contact_naming_the_field(patient, coordinator, data, field):
    fields = {"kind": "phone", "minutes": 10, "outcome": "reached", **data}
    with pytest.raises(InvalidInput) as exc:
        services.contact_create(patient=patient, actor=coordinator, **fields)
    assert field in exc.value.errors
    assert not Contact.objects.exists()


def test_the_database_caps_contact_minutes(patient):
    with pytest.raises(IntegrityError):
        Contact.objects.create(patient=patient, kind="phone", minutes=601, outcome="reached")


def test_goals_with_an_activity_take_the_next_free_psfs_item(patient, coordinator):
    walk = services.goal_create(patient=patient, text="I want to walk my dog again",
                                activity="Walking the dog", actor=coordinator)
    no_activity = services.goal_create(patient=patient, text="Sleep better", actor=coordinator)
    garden = services.goal_create(patient=patient, text="Back to my allotment",
                                  activity="Gardening", target_date="2027-06-01",
                                  actor=coordinator)
    assert (walk.psfs_item, no_activity.psfs_item, garden.psfs_item) == ("a1", "", "a2")
    services.goal_update(goal=walk, status="dropped", actor=coordinator)
    again = services.goal_create(patient=patient, text="Play with grandchildren",
                                 activity="Lifting my grandson", actor=coordinator)
    assert again.psfs_item == "a1"  # the dropped goal freed its item
    assert services.psfs_activities(patient) == {"a1": "Lifting my grandson", "a2": "Gardening"}
    # Taking the dropped goal back up gives it a free item, not the one now taken.
    walk = services.goal_update(goal=walk, status="active", actor=coordinator)
    assert walk.psfs_item == "a3"


def test_the_psfs_rates_at_most_five_activities(patient, coordinator):
    for i in range(5):
        services.goal_create(patient=patient, text=f"Goal {i}", activity=f"Activity {i}",
                             actor=coordinator)
    with pytest.raises(InvalidInput) as exc:
        services.goal_create(patient=patient, text="Sixth", activity="Swimming",
                             actor=coordinator)
    assert "activity" in exc.value.errors
    assert Goal.objects.filter(patient=patient).count() == 5


@pytest.mark.parametrize(("data", "field"), [
    ({"text": ""}, "text"), ({"text": "ok", "target_date": "June"}, "target_date"),
    ({"text": "ok", "activity": "x" * 81}, "activity"),
])
def test_it_refuses_a_bad_goal_naming_the_field(patient, coordinator, data, field):
    with pytest.raises(InvalidInput) as exc:
        services.goal_create(patient=patient, actor=coordinator, **data)
    assert field in exc.value.errors and not Goal.objects.exists()


def test_the_psfs_link_needs_the_patients_first_activity(patient, coordinator):
    with pytest.raises(InvalidInput) as exc:
        services.psfs_link_send(patient=patient, actor=coordinator)
    assert "activities" in exc.value.errors


def test_the_psfs_items_are_worded_as_the_patients_own_activities(patient, coordinator):
    from outcomes import item_labels

    services.goal_create(patient=patient, text="Walk my dog", activity="Walking the dog",
                         actor=coordinator)
    services.goal_create(patient=patient, text="Garden", activity="Gardening", actor=coordinator)
    assert item_labels.labels_for("psfs", patient) == {
        "a1": "Walking the dog", "a2": "Gardening", "a3": None, "a4": None, "a5": None}


def test_a_patient_without_activities_gets_the_generic_psfs(patient):
    from outcomes import item_labels

    assert item_labels.labels_for("psfs", patient) == {}
