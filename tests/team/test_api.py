"""The team API (docs/product.md §6): program settings, sites, staff, with their errors."""

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from ipm.models import AuditEvent
from patients.models import Program, Site
from patients.services import patient_create
from reminders.models import Reminder
from tests.conftest import api_client_for, make_user

pytestmark = pytest.mark.django_db

WEEK = {"mon": ["08:30", "17:00"], "tue": ["08:30", "17:00"], "wed": ["08:30", "17:00"],
        "thu": ["08:30", "17:00"], "fri": ["08:30", "16:00"], "sat": None, "sun": None}


# --- Program -----------------------------------------------------------------------------

def test_it_lets_only_admins_read_and_change_the_program(api, coordinator_api, admin_api):
    assert api.get("/api/program/").status_code == 403
    assert coordinator_api.patch("/api/program/", {"name": "X"}, format="json").status_code == 403
    r = admin_api.get("/api/program/")
    assert r.status_code == 200
    assert set(r.json()) >= {"name", "time_zone", "clinical_lead", "deputy_lead",
                             "escalation_mode", "escalation_hours", "working_hours",
                             "holiday_country", "holiday_region", "crisis_message"}


def test_it_sets_the_lead_hours_calendar_and_mode(admin_api, clinician, admin_user):
    deputy = make_user("dee", "clinician")
    r = admin_api.patch("/api/program/", {
        "clinical_lead": clinician.pk, "deputy_lead": deputy.pk, "working_hours": WEEK,
        "holiday_country": "us", "holiday_region": "ny", "escalation_mode": "24_7",
        "escalation_hours": 2, "time_zone": "America/New_York"}, format="json")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert (body["clinical_lead"], body["deputy_lead"]) == (clinician.pk, deputy.pk)
    assert (body["holiday_country"], body["holiday_region"]) == ("US", "NY")
    assert "988" in body["crisis_message_shown"]
    program = Program.default()
    assert program.working_hours == WEEK and program.escalation_hours == 2
    event = AuditEvent.objects.get(action="program.update")
    assert event.actor == admin_user and "clinical_lead" in event.detail["fields"]


@pytest.mark.parametrize(("patch", "field"), [
    ({"working_hours": {**WEEK, "mon": ["17:00", "09:00"]}}, "working_hours"),
    ({"working_hours": {**WEEK, "mon": ["9am", "5pm"]}}, "working_hours"),
    ({"working_hours": {"mon": ["09:00", "17:00"]}}, "working_hours"),
    ({"working_hours": {**WEEK, "funday": None}}, "working_hours"),
    ({"working_hours": "weekdays"}, "working_hours"),
    ({"holiday_country": "XX"}, "holiday_country"),
    ({"holiday_country": "GB", "holiday_region": "TEXAS"}, "holiday_region"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"escalation_mode": "sometimes"}, "escalation_mode"),
    ({"escalation_hours": 0}, "escalation_hours"),
    ({"clinical_lead": 999999}, "clinical_lead"),
])
def test_it_refuses_bad_settings_naming_the_field_and_saves_nothing(admin_api, patch, field):
    before = Program.default()
    r = admin_api.patch("/api/program/", {"name": "Renamed", **patch}, format="json")
    assert r.status_code == 400
    assert field in r.json()["errors"], r.json()
    assert set(r.json()) == {"message", "detail", "errors"}
    assert Program.default().name == before.name


def test_it_requires_active_clinicians_as_lead_and_deputy(admin_api, coordinator, clinician):
    r = admin_api.patch("/api/program/", {"clinical_lead": coordinator.pk}, format="json")
    assert r.status_code == 400 and "clinical_lead" in r.json()["errors"]
    clinician.is_active = False
    clinician.save()
    r = admin_api.patch("/api/program/", {"deputy_lead": clinician.pk}, format="json")
    assert r.status_code == 400 and "deputy_lead" in r.json()["errors"]


def test_it_shows_the_country_default_crisis_message_when_blank(admin_api):
    r = admin_api.patch("/api/program/", {"holiday_country": "GB", "crisis_message": ""},
                        format="json")
    shown = r.json()["crisis_message_shown"]
    assert "999" in shown and "111" in shown and "116 123" in shown
    r = admin_api.patch("/api/program/", {"holiday_country": "DE"}, format="json")
    assert "emergency" in r.json()["crisis_message_shown"]
    r = admin_api.patch("/api/program/", {"crisis_message": "Call 0800 000 000."}, format="json")
    assert r.json()["crisis_message_shown"] == "Call 0800 000 000."


# --- Sites -------------------------------------------------------------------------------

def test_it_adds_sites_and_refuses_a_duplicate_code(admin_api, api):
    assert api.get("/api/sites/").status_code == 403
    r = admin_api.post("/api/sites/", {"name": "North clinic", "code": "north",
                                       "time_zone": "Europe/London"}, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["code"] == "north" and r.json()["staff_count"] == 0
    again = admin_api.post("/api/sites/", {"name": "Other", "code": "north"}, format="json")
    assert again.status_code == 409 and "code" in again.json()["errors"]
    bad = admin_api.post("/api/sites/", {"name": "", "code": "has space"}, format="json")
    assert bad.status_code == 400
    listed = admin_api.get("/api/sites/").json()
    assert [s["code"] for s in listed["results"]] == ["main", "north"]


# --- Staff -------------------------------------------------------------------------------

def invite(admin_api, **extra):
    main = Site.objects.get(code="main")
    body = {"username": "newdoc", "email": "newdoc@example.org", "first_name": "Nia",
            "last_name": "Doc", "roles": ["clinician"], "sites": [main.pk],
            "phone": "+447700900123", **extra}
    return admin_api.post("/api/staff/", body, format="json")


def test_it_invites_a_person_through_the_outbox_with_a_single_use_link(admin_api):
    from reminders.dispatch import dispatch_due

    r = invite(admin_api)
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["roles"] == ["clinician"] and body["invited"] is True and body["is_active"]
    row = Reminder.objects.get(kind="staff_invite")
    assert row.recipient_user_id == body["id"] and row.patient is None
    dispatch_due()
    row.refresh_from_db()
    assert row.status == "sent"
    (message,) = mail.outbox
    assert message.to == ["newdoc@example.org"]
    link = next(w for w in message.body.split() if "/team/invite/" in w)
    path = link[link.index("/team/invite/"):]
    browser = Client()
    assert browser.get(path).status_code == 200
    r = browser.post(path, {"new_password1": "a-Long-pass-phrase-42",
                            "new_password2": "a-Long-pass-phrase-42"})
    assert r.status_code == 302
    assert browser.login(username="newdoc", password="a-Long-pass-phrase-42")
    assert Client().get(path).status_code == 410  # single use


def test_it_refuses_a_duplicate_username_with_409(admin_api, clinician):
    r = invite(admin_api, username=clinician.username)
    assert r.status_code == 409 and "username" in r.json()["errors"]


@pytest.mark.parametrize(("extra", "field"), [
    ({"roles": ["surgeon"]}, "roles"),
    ({"roles": []}, "roles"),
    ({"email": ""}, "email"),
    ({"email": "not-an-email"}, "email"),
    ({"sites": [999999]}, "sites"),
    ({"sites": []}, "sites"),
    ({"phone": "0770"}, "phone"),
])
def test_it_refuses_bad_staff_details(admin_api, extra, field):
    r = invite(admin_api, **extra)
    assert r.status_code == 400 and field in r.json()["errors"], r.json()
    assert not Reminder.objects.filter(kind="staff_invite").exists()


def test_it_lists_inactive_people_too(admin_api, clinician):
    gone = make_user("gone", "coordinator")
    gone.is_active = False
    gone.save()
    rows = {p["username"]: p for p in admin_api.get("/api/staff/").json()["results"]}
    assert rows["gone"]["is_active"] is False and rows[clinician.username]["is_active"] is True


def test_it_refuses_to_deactivate_someone_with_a_caseload(admin_api, clinician):
    patient_create(actor=clinician, mrn="C-1", given_name="A", family_name="B",
                   birth_date="1970-01-01")
    r = admin_api.patch(f"/api/staff/{clinician.pk}/", {"is_active": False}, format="json")
    assert r.status_code == 409
    assert r.json()["detail"] == {"caseload": 1}
    assert set(r.json()) == {"message", "detail", "errors"}
    clinician.refresh_from_db()
    assert clinician.is_active


def test_it_reassigns_a_caseload_then_deactivates_ending_sessions_and_tokens(
        admin_api, clinician, admin_user):
    other = make_user("otto", "clinician")
    p = patient_create(actor=clinician, mrn="C-2", given_name="A", family_name="B",
                       birth_date="1970-01-01", care_manager=clinician)
    browser = Client()
    browser.force_login(clinician)
    with_token = api_client_for(clinician)
    assert with_token.get("/api/patients/").status_code == 200
    r = admin_api.post(f"/api/staff/{clinician.pk}/reassign/", {"to_user": other.pk},
                       format="json")
    assert r.json() == {"clinician": 1, "care_manager": 1}
    p.refresh_from_db()
    assert (p.clinician, p.care_manager) == (other, other)
    assert AuditEvent.objects.filter(patient_id=p.pk, detail__via="caseload_reassign").count() == 2
    r = admin_api.patch(f"/api/staff/{clinician.pk}/", {"is_active": False}, format="json")
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert not AuthToken.objects.filter(user=clinician).exists()
    assert with_token.get("/api/patients/").status_code == 401  # the token ended at once
    assert not any(s.get_decoded().get("_auth_user_id") == str(clinician.pk)
                   for s in Session.objects.all())
    assert browser.get("/patients/").status_code == 302  # logged out at once
    assert AuditEvent.objects.filter(action="user.deactivated", actor=admin_user,
                                     object_id=str(clinician.pk)).exists()


def test_it_changes_roles_and_sites(admin_api, coordinator):
    north = Site.objects.create(program=Program.default(), name="North", code="north")
    r = admin_api.patch(f"/api/staff/{coordinator.pk}/",
                        {"roles": ["coordinator", "clinician"], "sites": [north.pk]},
                        format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["roles"] == ["clinician", "coordinator"] and r.json()["sites"] == [north.pk]


def test_it_resets_a_second_factor_audited(admin_api, clinician, admin_user):
    TOTPDevice.objects.create(user=clinician, name="phone", confirmed=True)
    r = admin_api.post(f"/api/staff/{clinician.pk}/reset-2fa/")
    assert r.json() == {"devices_removed": 1}
    assert not TOTPDevice.objects.filter(user=clinician).exists()
    assert AuditEvent.objects.filter(action="2fa.reset", object_id=str(clinician.pk),
                                     actor=admin_user).exists()


def test_it_keeps_staff_endpoints_for_admins(api, coordinator_api, clinician):
    for client in (api, coordinator_api):
        assert client.get("/api/staff/").status_code == 403
        assert client.patch(f"/api/staff/{clinician.pk}/", {"is_active": False},
                            format="json").status_code == 403
