"""Row-level scoping by site (docs/product.md §6): a person who works at site A never sees a site-B
patient, in pages, API and FHIR alike: absent from every list, 404 on every detail.

The walk enumerates the URL patterns, so a new endpoint fails here until it is listed with
the site-B object its ids should point at (or as having none).
"""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from patients.models import Program, Site
from tests.conftest import make_user, token_for

pytestmark = pytest.mark.django_db

NO_FLAGS = {k: False for k in ("cauda_equina", "cancer_history", "fever_or_infection",
                               "significant_trauma", "unexplained_weight_loss",
                               "progressive_neuro_deficit")}
SECRET_MRN, SECRET_NAME = "BSECRET-77", "Zanzibarova"

# Routes that read or act on no patient of another site (auth, schema, static lookups,
# admin-only configuration, the patient's own token links, the catch-all 404s).
NO_PATIENT = {
    "", "healthz", "livez", "accounts/login/", "accounts/2fa/setup/", "accounts/2fa/verify/",
    "accounts/logout/", "audit/", "api/auth/token/", "api/schema/", "api/docs/",
    "api/instruments/", "api/instruments/<str:code>/", "api/services/", "api/^.*$",
    "fhir/metadata", "fhir/^Questionnaire/?$", "fhir/^Questionnaire/(?P<id>[^/]+)$",
    "fhir/^(?P<path>.*)$", "q/<str:token>/", "reminders/stop/<str:token>/",
    "patients/intake/", "referrals/new/", "referrals/mdt/new/", "groups/new/",
    "groups/new/preview/", "metrics/", "metrics/export.csv", "metrics/snapshots/",
    "metrics/snapshots/<int:pk>/progress/", "api/metrics/program/",
    "api/program/", "api/sites/", "api/staff/", "api/staff/<int:pk>/",
    "api/staff/<int:pk>/reset-2fa/", "api/staff/<int:pk>/invite/", "api/staff/<int:pk>/reassign/",
    "team/", "team/program/", "team/sites/", "team/staff/", "team/staff/<int:pk>/",
    "team/staff/<int:pk>/reset-2fa/", "team/staff/<int:pk>/invite/", "team/reassign/",
    "team/invite/<str:token>/", "referrals/mdt/<int:pk>/attendees/",
    "referrals/mdt/attendees/<int:pk>/remove/", "referrals/mdt/<int:pk>/",
    "api/responses/",
    # One's own account, second factor and API tokens; an admin's 2FA reset of a person.
    "accounts/", "accounts/tokens/<str:token_key>/revoke/", "accounts/2fa/recovery-codes/",
    "accounts/2fa/disable/", "accounts/2fa/reset/<int:user_id>/", "api/auth/tokens/",
    "api/auth/tokens/<str:token_key>/",
    # The program's billing-code table (no patient in it).
    "api/billing-codes/",
    # Jobs belong to the person who asked (404 to anyone else) and are built from
    # Patient.objects.visible_to(requester) (tests/fhir/test_bulk_export.py); the cohort export
    # is de-identified and admin-only; POST /fhir/ is the integration account's transaction.
    "api/letters/", "api/letters/<uuid:pk>/", "api/letters/<uuid:pk>/files/<str:name>/",
    "api/exports/cohort/", "api/exports/cohort/<uuid:pk>/",
    "api/exports/cohort/<uuid:pk>/files/<str:name>/", "fhir/^$", "fhir/^\\$export$",
    "fhir/^\\$export-status/(?P<job>[0-9a-f-]{36})$",
    "fhir/^\\$export-file/(?P<job>[0-9a-f-]{36})/(?P<name>[A-Za-z]+\\.ndjson)$",
    # Appointments without a patient: the redirect to the calendar, clinicians' hours and
    # leave, feed links (the feed itself is the clinician's own diary, by token), free
    # slots and schedules.
    "appointments/", "appointments/availability/", "appointments/feed/regenerate/",
    "appointments/feed/<str:token>.ics", "api/^appointments/slots/$", "fhir/^Schedule/?$",
    "fhir/^Schedule/(?P<id>[^/]+)$", "fhir/^Slot/?$", "fhir/^Slot/(?P<id>[^/]+)$",
}
# Lists: must not show the site-B patient. (path → query string)
LISTS = {
    "patients/": "?q=" + SECRET_NAME[:4], "api/^patients/$": "?q=" + SECRET_NAME[:4],
    "referrals/": "", "referrals/mdt/": "", "referrals/mdt/agenda/": "", "referrals/bulk/": "",
    "groups/": "", "groups/agenda/": "", "alerts/": "?status=all", "worklist/": "",
    "reminders/": "", "api/alerts/": "?status=open", "api/referrals/": "",
    "api/^group-series/$": "", "api/reminders/": "", "fhir/^Patient/?$": "",
    "fhir/^QuestionnaireResponse/?$": "", "fhir/^Observation/?$": "",
    "fhir/^ServiceRequest/?$": "", "fhir/^Appointment/?$": "", "fhir/^Flag/?$": "",
    "fhir/^DocumentReference/?$": "",
    "care/worklist/": "", "care/billing/": "?month={month}", "care/billing.csv": "?month={month}",
    "api/billing/": "?month={month}",
    "appointments/week/": "?date={appointment_day}", "appointments/day/": "?date={appointment_day}",
    "appointments/new/": "", "api/^appointments/$": "", "fhir/^Encounter/?$": "",
}


def walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


@pytest.fixture
def world(db):
    from clinic.services import intake_record
    from outcomes.services import response_create
    from patients.services import patient_create
    from referrals.models import Service
    from referrals.services import referral_create
    from reminders.services import reminder_schedule
    from visits.services import PlannedSession, enrolment_create, series_create

    program = Program.default()
    site_b = Site.objects.create(program=program, name="Site B", code="b")
    a_user = make_user("alex", "clinician", "coordinator")          # site A (main) only
    b_user = make_user("bea", "clinician", "coordinator")
    b_user.sites.set([site_b])
    p = patient_create(actor=b_user, site=site_b, mrn=SECRET_MRN, given_name="Bo",
                       family_name=SECRET_NAME, birth_date="1970-01-01",
                       email="bo@example.org", consent_to_contact=True)
    intake = intake_record(patient=p, red_flags={**NO_FLAGS, "cancer_history": True},
                           startback={f"q{i}": 1 for i in range(1, 9)} | {"q9": 4},
                           actor=b_user)
    response = response_create(patient=p, instrument="phq9",
                               answers={f"q{i}": 1 for i in range(1, 10)}, actor=b_user)
    alert = response.alerts[0]
    referral = referral_create(patient=p, service=Service.objects.get(code="physio"),
                               reason="Back pain", actor=b_user, needs_mdt=True)
    reminder = reminder_schedule(kind="questionnaire_due", target_type="questionnaire_link",
                                 target_id=1, patient=p, channel="email", offset="0d",
                                 scheduled_for=timezone.now() + timedelta(days=1))
    series = series_create(name="B pain school", service=Service.objects.get(code="group_programme"),
                           capacity=8, actor=b_user, site=site_b,
                           sessions=[PlannedSession(timezone.now() + timedelta(days=3), 90)])
    session = series.sessions.get()
    enrolment_create(series=series, patient=p, actor=b_user)
    from referrals.models import MdtAgendaItem, MdtMeeting
    from referrals.services import mdt_agenda_add

    meeting = MdtMeeting.objects.create(scheduled_for=timezone.now() + timedelta(days=1),
                                        created_by=b_user)
    mdt_agenda_add(meeting=meeting, referral=referral.pk, actor=b_user)
    item = MdtAgendaItem.objects.get(referral=referral)
    from care.services import contact_create, goal_create

    contact_create(patient=p, kind="phone", minutes=40, outcome="reached", actor=b_user)
    goal = goal_create(patient=p, text="Walk the dog", activity="Walking", actor=b_user)
    from appointments import services as appointments
    from appointments.models import AttendanceReview

    appointments.weekly_availability_set(clinician=b_user, site=site_b, windows=[
        (d, "08:00", "18:00", None) for d in range(7)], actor=b_user)
    appt = appointments.appointment_book(
        patient=p, clinician=b_user, service=Service.objects.get(code="physio"), site=site_b,
        starts_at=(timezone.now() + timedelta(minutes=6)).replace(second=0, microsecond=0),
        duration_minutes=30, override=True, reason="Fitted in", actor=b_user)
    appointments.appointment_status_set(appointment=appt, status="attended", actor=b_user)
    appointments.visit_note_save(appointment=appt, actor=b_user, plan="Walk", minutes=20)
    review = AttendanceReview.objects.create(referral=referral, patient=p, missed=2)
    return {"goal": goal, "appointment": appt, "review": review, "a": a_user, "b": b_user, "patient": p, "intake": intake, "alert": alert,
            "referral": referral, "reminder": reminder, "series": series,
            "session": session, "response": response, "item": item}


def ids_for(route: str, w) -> dict | None:
    """The site-B object each id of a route names."""
    p, r = w["patient"].pk, w["referral"].pk
    table = [
        (r"^patients/<int:patient_pk>/intakes/", {"patient_pk": p, "pk": w["intake"].pk}),
        (r"letters/<str:kind>/", {"pk": p, "kind": "intake"}),
        (r"^fhir/\^(DocumentReference|Binary)/", {"id": f"{p}-intake"}),
        (r"^(api/\^?)?patients/", {"pk": p}),
        (r"^fhir/\^Patient/", {"id": p}),
        (r"^referrals/mdt/agenda/", {"pk": w["item"].pk}),
        (r"^(api/)?referrals/", {"pk": r}),
        (r"^fhir/\^ServiceRequest/", {"id": r}),
        (r"^(groups/sessions/|api/\^group-sessions/)", {"pk": w["session"].pk}),
        (r"^fhir/\^Appointment/", {"id": w["session"].pk}),
        (r"^appointments/reviews/", {"pk": w["review"].pk}),
        (r"^(api/\^?)?appointments/", {"pk": w["appointment"].pk}),
        (r"^fhir/\^Encounter/", {"id": w["appointment"].pk}),
        (r"^(groups/|api/\^group-series/)", {"pk": w["series"].pk}),
        (r"^(api/)?alerts/", {"pk": w["alert"].pk}),
        (r"^fhir/\^Flag/", {"id": w["alert"].pk}),
        (r"^fhir/\^(QuestionnaireResponse|Observation)/", {"id": w["response"].pk}),
        (r"^(api/)?reminders/", {"pk": w["reminder"].pk}),
        (r"^care/patients/", {"pk": p}),
        (r"^(api/|care/)goals/", {"pk": w["goal"].pk}),
    ]
    for pattern, ids in table:
        if re.search(pattern, route):
            return ids
    return None


def concrete(route: str, ids: dict) -> str:
    path = route.replace("^", "").replace("$", "").replace("/?", "/")
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), path)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(ids[m.group(1)]), path)
    if path.startswith("fhir/") and path.endswith("/") and path.count("/") == 2:
        path = path[:-1]  # FHIR type searches: /fhir/Patient
    return "/" + path


def test_a_site_a_person_never_sees_a_site_b_patient(world):
    routes = [r for r in walk(get_resolver().url_patterns) if not r.startswith("admin/")]
    browser = Client()
    browser.force_login(world["a"])
    api = Client(HTTP_AUTHORIZATION=f"Token {token_for(world['a'])}")
    unlisted, leaks = [], []
    for route in routes:
        if route in NO_PATIENT:
            continue
        client = api if route.startswith(("api/", "fhir/")) else browser
        if route in LISTS:
            path = concrete(route, {}) + LISTS[route].format(
                month=timezone.localdate().strftime("%Y-%m"),
                appointment_day=timezone.localdate(world["appointment"].starts_at).isoformat())
            if route.startswith("fhir/") and route != "fhir/^Patient/?$":
                path += f"?patient={world['patient'].pk}"
            r = client.get(path)
            body = r.content.decode(errors="replace")
            if SECRET_MRN in body or SECRET_NAME in body:
                leaks.append(f"list {path} shows the site-B patient")
            elif route.startswith(("api/", "fhir/")):
                # Only site-B rows exist: every API list must come back empty.
                data = r.json()
                if r.status_code != 200 or data.get("count", data.get("total", 0)):
                    leaks.append(f"list {path}: {r.status_code}, {data.get('count', data.get('total'))} rows")
            continue
        ids = ids_for(route, world)
        if ids is None:
            unlisted.append(route)
            continue
        path = concrete(route, ids)
        for method in ("get", "post"):
            r = getattr(client, method)(path)
            body = r.content.decode(errors="replace")
            if r.status_code not in (404, 405) or SECRET_MRN in body or SECRET_NAME in body:
                leaks.append(f"{method.upper()} {path}: {r.status_code}")
    assert not unlisted, f"list these routes in the scoping walk: {unlisted}"
    assert not leaks, "\n".join(leaks)
    # The site-B person sees their patient (the data exists; the walk is not vacuous).
    bea = Client()
    bea.force_login(world["b"])
    assert bea.get(f"/patients/{world['patient'].pk}/").status_code == 200
    assert SECRET_NAME in bea.get("/patients/?q=Zanz").content.decode()
