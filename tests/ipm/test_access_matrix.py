"""The role × URL matrix (SPEC §1, §5): each role reaches its pages and API, is refused the
others, and every read of patient data leaves an audit row naming the patient."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from ipm.models import AuditEvent
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

NO_FLAGS = {k: False for k in ("cauda_equina", "cancer_history", "fever_or_infection",
                               "significant_trauma", "unexplained_weight_loss",
                               "progressive_neuro_deficit")}
CLIN, COORD, ADMIN, NOBODY = "clinician", "coordinator", "admin", "nobody"
STAFF = {CLIN, COORD}


@pytest.fixture
def world(db):
    from outcomes.services import response_create
    from patients.services import intake_record, patient_create
    from referrals.models import Service
    from referrals.services import referral_create
    from visits.models import GroupSeries, GroupSession

    users = {CLIN: make_user("m-clin", CLIN), COORD: make_user("m-coord", COORD),
             ADMIN: make_user("m-admin", ADMIN), NOBODY: make_user("m-nobody")}
    p = patient_create(actor=users[CLIN], mrn="MX-1", given_name="Mat", family_name="Rix",
                       birth_date="1970-01-01", email="mat@example.org",
                       consent_to_contact=True)
    intake_record(patient=p, red_flags=NO_FLAGS,
                  startback={f"q{i}": 1 for i in range(1, 9)} | {"q9": 4}, actor=users[CLIN])
    response_create(patient=p, instrument="phq9",
                    answers={f"q{i}": 1 for i in range(1, 10)}, actor=users[CLIN])
    ref = referral_create(patient=p, service=Service.objects.get(code="physio"),
                          reason="Back pain", actor=users[CLIN])
    from reminders.services import reminder_schedule

    reminder_schedule(kind="questionnaire_due", target_type="questionnaire_link", target_id=1,
                      patient=p, channel="email", offset="0d",
                      scheduled_for=timezone.now() + timedelta(days=1))
    series = GroupSeries.objects.create(name="Pain school",
                                        service=Service.objects.get(code="group_programme"),
                                        capacity=8)
    session = GroupSession.objects.create(series=series,
                                          starts_at=timezone.now() + timedelta(days=3))
    return {"users": users, "patient": p, "referral": ref, "series": series,
            "session": session}


def _pages(w):
    p, r, s, sess = w["patient"].pk, w["referral"].pk, w["series"].pk, w["session"].pk
    # (path, roles allowed, reads patient data)
    return [
        ("/", {CLIN, COORD, ADMIN, NOBODY}, False),
        ("/patients/", STAFF, True),
        (f"/patients/{p}/", STAFF, True),
        (f"/patients/{p}/trends/", STAFF, True),
        ("/patients/intake/", {CLIN}, False),
        ("/referrals/", STAFF, True),
        (f"/referrals/{r}/", STAFF, True),
        ("/referrals/mdt/", STAFF, False),
        ("/groups/", STAFF, False),
        (f"/groups/{s}/", STAFF, False),
        (f"/groups/sessions/{sess}/", STAFF, False),
        ("/worklist/", STAFF, True),
        ("/alerts/", STAFF, True),
        ("/audit/", {ADMIN}, False),
        ("/reminders/", STAFF, True),
        ("/metrics/", {ADMIN}, False),
        ("/team/", {ADMIN}, False),
        ("/team/program/", {ADMIN}, False),
        ("/team/sites/", {ADMIN}, False),
        ("/team/staff/", {ADMIN}, False),
        ("/team/reassign/", {ADMIN}, False),
    ]


def _apis(w):
    p, r, s = w["patient"].pk, w["referral"].pk, w["series"].pk
    return [
        ("/api/instruments/", {CLIN, COORD, ADMIN}, False),
        ("/api/services/", {CLIN, COORD, ADMIN}, False),
        ("/api/patients/", STAFF, True),
        (f"/api/patients/{p}/", STAFF, True),
        (f"/api/patients/{p}/responses/", STAFF, True),
        ("/api/referrals/", STAFF, True),
        (f"/api/referrals/{r}/", STAFF, True),
        (f"/api/group-series/{s}/", STAFF, False),
        ("/api/alerts/", STAFF, True),
        ("/api/reminders/", STAFF, True),
        ("/api/metrics/program/", {ADMIN}, False),
        ("/api/program/", {ADMIN}, False),
        ("/api/sites/", {ADMIN}, False),
        ("/api/staff/", {ADMIN}, False),
        (f"/fhir/Patient/{p}", STAFF, True),
        (f"/fhir/QuestionnaireResponse?patient={p}", STAFF, True),
        (f"/fhir/Observation?patient={p}", STAFF, True),
        (f"/fhir/ServiceRequest?patient={p}", STAFF, True),
        (f"/fhir/Flag?patient={p}", STAFF, True),
    ]


def _audited(before_id: int, patient_id: int) -> bool:
    for ev in AuditEvent.objects.filter(id__gt=before_id):
        if ev.patient_id == patient_id or patient_id in ev.detail.get("patient_ids", []):
            return True
    return False


@pytest.mark.parametrize("role", [CLIN, COORD, ADMIN, NOBODY])
def test_each_role_reaches_its_pages_and_is_refused_the_others(world, role):
    c = Client()
    c.force_login(world["users"][role])
    for path, allowed, reads_patient in _pages(world):
        before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        r = c.get(path)
        expected = 200 if role in allowed else 403
        assert r.status_code == expected, f"{role} GET {path}: {r.status_code}"
        if expected == 200 and reads_patient:
            assert _audited(before, world["patient"].pk), f"no audit row for {role} GET {path}"


@pytest.mark.parametrize("role", [CLIN, COORD, ADMIN, NOBODY])
def test_each_role_reaches_its_api_and_is_refused_the_rest(world, role):
    c = Client()
    token = Token.objects.create(user=world["users"][role])
    for path, allowed, reads_patient in _apis(world):
        before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        r = c.get(path, HTTP_AUTHORIZATION=f"Token {token.key}")
        expected = 200 if role in allowed else 403
        assert r.status_code == expected, f"{role} GET {path}: {r.status_code}"
        if expected == 200 and reads_patient:
            assert _audited(before, world["patient"].pk), f"no audit row for {role} GET {path}"
