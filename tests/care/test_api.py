"""Care API: step, contacts, goals, billing export (SPEC §11)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from care import services
from care.models import Contact, StepDecision
from ipm.models import AuditEvent
from patients.models import Site
from tests.conftest import api_client_for, make_user

pytestmark = pytest.mark.django_db


def test_it_steps_a_patient_up_with_a_reason(api, patient):
    r = api.post(f"/api/patients/{patient.pk}/step/", {"step": 2, "reason": "Not improving"},
                 format="json")
    assert r.status_code == 200, r.content
    assert r.json()["step"] == 2 and r.json()["id"] == patient.pk
    history = api.get(f"/api/patients/{patient.pk}/step/").json()
    assert [(d["from_step"], d["to_step"], d["direction"]) for d in history] == [(1, 2, "up")]


@pytest.mark.parametrize(("body", "field"), [
    ({"step": 2}, "reason"), ({"step": 2, "reason": ""}, "reason"),
    ({"step": 5, "reason": "x"}, "step"), ({"reason": "x"}, "step"),
])
def test_it_refuses_a_step_without_a_reason_or_with_a_bad_step(api, patient, body, field):
    r = api.post(f"/api/patients/{patient.pk}/step/", body, format="json")
    assert r.status_code == 400
    assert field in r.json()["errors"] and r.json()["message"]
    patient.refresh_from_db()
    assert patient.step == 1 and not StepDecision.objects.exists()


def test_only_clinicians_change_the_step(coordinator_api, admin_api, patient):
    assert coordinator_api.post(f"/api/patients/{patient.pk}/step/",
                                {"step": 2, "reason": "x"}, format="json").status_code == 403
    assert admin_api.post(f"/api/patients/{patient.pk}/step/",
                          {"step": 2, "reason": "x"}, format="json").status_code == 403
    patient.refresh_from_db()
    assert patient.step == 1


def test_it_records_and_lists_contacts(coordinator_api, patient):
    r = coordinator_api.post(f"/api/patients/{patient.pk}/contacts/", {
        "kind": "phone", "minutes": 20, "outcome": "reached", "note": "Walking plan agreed",
        "next_contact_on": (timezone.localdate() + timedelta(days=7)).isoformat()},
        format="json")
    assert r.status_code == 201, r.content
    assert r.json()["minutes"] == 20 and r.json()["outcome"] == "reached"
    listed = coordinator_api.get(f"/api/patients/{patient.pk}/contacts/")
    assert listed.status_code == 200
    assert [c["note"] for c in listed.json()["results"]] == ["Walking plan agreed"]
    assert AuditEvent.objects.filter(action="list", object_type="care.contact").exists()


def test_it_refuses_a_bad_contact_with_a_400_naming_the_field(coordinator_api, patient):
    r = coordinator_api.post(f"/api/patients/{patient.pk}/contacts/",
                             {"kind": "phone", "minutes": 700, "outcome": "reached"},
                             format="json")
    assert r.status_code == 400 and list(r.json()["errors"]) == ["minutes"]
    assert not Contact.objects.exists()


def test_another_sites_patient_is_absent(api, patient, program):
    other = Site.objects.create(program=program, name="North", code="north")
    patient.site = other
    patient.save(update_fields=["site"])
    assert api.get(f"/api/patients/{patient.pk}/contacts/").status_code == 404
    assert api.post(f"/api/patients/{patient.pk}/step/", {"step": 2, "reason": "x"},
                    format="json").status_code == 404


def test_goals_api(coordinator_api, patient):
    r = coordinator_api.post(f"/api/patients/{patient.pk}/goals/", {
        "text": "Walk to the shops without stopping", "activity": "Walking 1 km",
        "target_date": "2027-03-01"}, format="json")
    assert r.status_code == 201 and r.json()["psfs_item"] == "a1"
    goal_id = r.json()["id"]
    r = coordinator_api.patch(f"/api/goals/{goal_id}/", {"status": "achieved"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "achieved"
    r = coordinator_api.patch(f"/api/goals/{goal_id}/", {"status": "done"}, format="json")
    assert r.status_code == 400 and "status" in r.json()["errors"]
    assert [g["text"] for g in coordinator_api.get(f"/api/patients/{patient.pk}/goals/").json()] \
        == ["Walk to the shops without stopping"]


def _contact(patient, minutes, when, actor):
    services.contact_create(patient=patient, kind="phone", minutes=minutes, outcome="reached",
                            contacted_at=when, actor=actor)


def test_the_billing_export_lists_minutes_and_codes_met(make_patient, coordinator, admin_user):
    ann, ben = make_patient("Ann", "Able"), make_patient("Ben", "Baker")
    tz = timezone.get_default_timezone()
    march = timezone.make_aware(timezone.datetime(2026, 3, 10, 10), tz)
    feb = timezone.make_aware(timezone.datetime(2026, 2, 10, 10), tz)
    _contact(ann, 40, march, coordinator)            # first month, 40 → 99492
    _contact(ben, 20, feb, coordinator)              # February: Ben's first month
    _contact(ben, 25, march, coordinator)            # subsequent, 25 + 20 = 45 → 99493
    _contact(ben, 20, march + timedelta(days=1), coordinator)
    # The last minute of February (local time) is not March's.
    _contact(ann, 30, timezone.make_aware(timezone.datetime(2026, 2, 28, 23, 59), tz),
             coordinator)
    r = api_client_for(admin_user).get("/api/billing/?month=2026-03")
    assert r.status_code == 200, r.content
    rows = {row["name"]: row for row in r.json()["rows"]}
    assert rows["Ann Able"]["minutes"] == 40
    assert rows["Ann Able"]["care_month"] == "subsequent"   # Feb 28 was her first
    assert rows["Ben Baker"]["minutes"] == 45 and rows["Ben Baker"]["care_month"] == "subsequent"
    assert rows["Ben Baker"]["codes"] == "bhi: 99484; ccm: 99490 + 99439; cocm: 99493"
    assert rows["Ann Able"]["codes"] == "bhi: 99484; ccm: 99490 + 99439; cocm: 99493"
    assert AuditEvent.objects.filter(action="export", object_type="care.billing").exists()


def test_the_billing_export_needs_a_month_and_the_right_role(coordinator_api, api):
    r = coordinator_api.get("/api/billing/?month=March")
    assert r.status_code == 400 and "month" in r.json()["errors"]
    assert coordinator_api.get("/api/billing/?month=2026-03").status_code == 200
    assert api.get("/api/billing/?month=2026-03").status_code == 403  # clinicians: no


def test_a_first_month_bills_99492(make_patient, coordinator):
    p = make_patient("Cat", "Cole")
    tz = timezone.get_default_timezone()
    _contact(p, 36, timezone.make_aware(timezone.datetime(2026, 4, 2, 9), tz), coordinator)
    rows = api_client_for(coordinator).get("/api/billing/?month=2026-04").json()["rows"]
    assert rows[0]["care_month"] == "first"
    assert {f["family"]: f["codes"] for f in rows[0]["families"]}["cocm"] == [
        {"code": "99492", "units": 1}]


def test_coordinators_bill_only_for_their_sites(make_patient, coordinator, program, clinician):
    north = Site.objects.create(program=program, name="North", code="north")
    p = make_patient("Dee", "North", site=north)
    _contact(p, 30, timezone.now(), make_user("nurse", "clinician"))
    month = timezone.localdate().strftime("%Y-%m")
    assert api_client_for(coordinator).get(f"/api/billing/?month={month}").json()["rows"] == []
    admin = make_user("boss", "admin")
    rows = api_client_for(admin).get(f"/api/billing/?month={month}&site=north").json()["rows"]
    assert [r["name"] for r in rows] == ["Dee North"]
