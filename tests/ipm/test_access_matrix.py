"""The role × endpoint matrix (docs/product.md §1, §5; issue 16 §2).

One table in ipm/roles.py (PERMISSIONS) drives pages, API and FHIR. These tests hold it to
the spec from the outside:

- every route the URL resolver serves and every operation in the OpenAPI schema has a row
  below, so a new endpoint without an expected status per role fails here;
- every route names a permission from the table (or is listed as public / any signed-in
  user), so no page or API view decides roles on its own;
- each role gets the expected status on every row: allowed roles reach the view (its own
  answer: 200, 201, 302, or 400 for the empty body sent to writes), the other roles get 403,
  a signed-in user without a role 403, an integration (service) account 403 everywhere but
  its own API tokens and the API description, and an anonymous caller the login page
  (pages) or 401 (API, FHIR);
- every read of patient data leaves an audit row naming the patient.
"""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.utils import timezone

from ipm import roles
from ipm.models import AuditEvent
from tests.conftest import api_client_for, make_user

pytestmark = pytest.mark.django_db

NO_FLAGS = {k: False for k in ("cauda_equina", "cancer_history", "fever_or_infection",
                               "significant_trauma", "unexplained_weight_loss",
                               "progressive_neuro_deficit")}
CLIN, COORD, ADMIN, NOBODY, ANON = "clinician", "coordinator", "admin", "nobody", "anonymous"
INTEG = "integration"  # a service account (docs/product.md §1, §10): reads nothing
ROLES = (CLIN, COORD, ADMIN, INTEG, NOBODY, ANON)
STAFF = frozenset({CLIN, COORD})
CLINICIANS = frozenset({CLIN})
COORDINATORS = frozenset({COORD})
ADMINS = frozenset({ADMIN})
ANY_ROLE = frozenset({CLIN, COORD, ADMIN})
SIGNED_IN = frozenset({CLIN, COORD, ADMIN, NOBODY})
# One's own API tokens and the API description: a service account keeps its tokens too.
API_SIGNED_IN = SIGNED_IN | {INTEG}
EVERYONE = frozenset(ROLES)

# --- The expected matrix -----------------------------------------------------------------
# (method, route as the resolver spells it, path with the world's ids, roles allowed,
#  status an allowed role gets, reads patient data). Writes send an empty body: allowed
# roles get the view's own answer to it (usually 400), which shows the role check passed
# and nothing was written.

PAGES = [
    ("GET", "", "/", SIGNED_IN, 200, False),
    ("GET", "audit/", "/audit/", ADMINS, 200, False),
    ("GET", "accounts/2fa/reset/<int:user_id>/", "/accounts/2fa/reset/{clinician_user}/",
     ADMINS, 200, False),
    ("GET", "patients/", "/patients/", STAFF, 200, True),
    ("GET", "patients/intake/", "/patients/intake/", CLINICIANS, 200, False),
    ("POST", "patients/intake/", "/patients/intake/", CLINICIANS, 200, False),
    ("GET", "patients/<int:pk>/", "/patients/{patient}/", STAFF, 200, True),
    ("GET", "patients/<int:pk>/intake/", "/patients/{patient}/intake/", CLINICIANS, 200, True),
    ("POST", "patients/<int:pk>/pathway/", "/patients/{patient}/pathway/", CLINICIANS, 302,
     False),
    ("POST", "patients/<int:pk>/care-team/", "/patients/{patient}/care-team/", STAFF, 302,
     False),
    ("GET", "patients/<int:patient_pk>/intakes/<int:pk>/",
     "/patients/{patient}/intakes/{intake}/", STAFF, 200, True),
    ("POST", "patients/<int:patient_pk>/intakes/<int:pk>/referrals/",
     "/patients/{patient}/intakes/{intake}/referrals/", STAFF, 302, False),
    ("GET", "patients/<int:pk>/trends/", "/patients/{patient}/trends/", STAFF, 200, True),
    ("GET", "patients/<int:pk>/responses/new/", "/patients/{patient}/responses/new/", STAFF,
     200, True),
    ("GET", "patients/<int:pk>/medications/new/", "/patients/{patient}/medications/new/",
     CLINICIANS, 200, True),
    ("POST", "patients/<int:pk>/medications/new/", "/patients/{patient}/medications/new/",
     CLINICIANS, 400, True),
    ("POST", "patients/<int:pk>/questionnaire-links/new/",
     "/patients/{patient}/questionnaire-links/new/", STAFF, 302, False),
    ("GET", "referrals/", "/referrals/", STAFF, 200, True),
    ("GET", "referrals/new/", "/referrals/new/", STAFF, 200, False),
    ("POST", "referrals/bulk/", "/referrals/bulk/", STAFF, 302, False),
    ("GET", "referrals/<int:pk>/", "/referrals/{referral}/", STAFF, 200, True),
    ("POST", "referrals/<int:pk>/transition/", "/referrals/{referral}/transition/", STAFF,
     302, False),
    ("POST", "referrals/<int:pk>/assign/", "/referrals/{referral}/assign/", STAFF, 302, False),
    ("POST", "referrals/<int:pk>/mdt-request/", "/referrals/{referral}/mdt-request/", STAFF,
     302, False),
    ("GET", "referrals/mdt/", "/referrals/mdt/", STAFF, 200, False),
    ("POST", "referrals/mdt/new/", "/referrals/mdt/new/", COORDINATORS, 400, False),
    # No meeting named: the view's answer is 404.
    ("POST", "referrals/mdt/agenda/", "/referrals/mdt/agenda/", COORDINATORS, 404, False),
    ("POST", "referrals/mdt/agenda/<int:pk>/decision/",
     "/referrals/mdt/agenda/{agenda}/decision/", STAFF, 400, False),
    ("POST", "referrals/mdt/agenda/<int:pk>/remove/", "/referrals/mdt/agenda/{agenda}/remove/",
     COORDINATORS, 302, False),
    ("GET", "referrals/mdt/<int:pk>/", "/referrals/mdt/{meeting}/", STAFF, 200, False),
    ("POST", "referrals/mdt/<int:pk>/attendees/", "/referrals/mdt/{meeting}/attendees/",
     COORDINATORS, 302, False),
    ("POST", "referrals/mdt/attendees/<int:pk>/remove/",
     "/referrals/mdt/attendees/{attendee}/remove/", COORDINATORS, 302, False),
    ("GET", "groups/", "/groups/", STAFF, 200, False),
    ("GET", "groups/agenda/", "/groups/agenda/", STAFF, 200, False),
    ("GET", "groups/new/", "/groups/new/", STAFF, 200, False),
    ("GET", "groups/new/preview/", "/groups/new/preview/", STAFF, 200, False),
    ("GET", "groups/<int:pk>/", "/groups/{series}/", STAFF, 200, False),
    ("GET", "groups/<int:pk>/patients/", "/groups/{series}/patients/?q=Rix", STAFF, 200, False),
    ("POST", "groups/<int:pk>/enrol/", "/groups/{series}/enrol/", STAFF, 302, False),
    ("POST", "groups/<int:pk>/withdraw/", "/groups/{series}/withdraw/", STAFF, 302, False),
    ("POST", "groups/<int:pk>/sessions/add/", "/groups/{series}/sessions/add/", STAFF, 302,
     False),
    ("POST", "groups/<int:pk>/capacity/", "/groups/{series}/capacity/", STAFF, 302, False),
    ("GET", "groups/<int:pk>/billing.csv", "/groups/{series}/billing.csv", STAFF, 200, False),
    ("GET", "groups/sessions/<int:pk>/", "/groups/sessions/{session}/", STAFF, 200, False),
    ("POST", "groups/sessions/<int:pk>/attendance/", "/groups/sessions/{session}/attendance/",
     STAFF, 302, False),
    ("GET", "groups/sessions/<int:pk>/edit/", "/groups/sessions/{session}/edit/", STAFF, 200,
     False),
    ("POST", "groups/sessions/<int:pk>/cancel/", "/groups/sessions/{session}/cancel/", STAFF,
     302, False),
    ("GET", "alerts/", "/alerts/", STAFF, 200, True),
    ("GET", "alerts/<int:pk>/", "/alerts/{alert}/", STAFF, 200, True),
    ("POST", "alerts/<int:pk>/acknowledge/", "/alerts/{alert}/acknowledge/", CLINICIANS, 302,
     False),
    ("GET", "worklist/", "/worklist/", STAFF, 200, True),
    ("GET", "reminders/", "/reminders/", STAFF, 200, True),
    ("POST", "reminders/<int:pk>/resend/", "/reminders/{reminder}/resend/", STAFF, 302, False),
    ("GET", "metrics/", "/metrics/", ADMINS, 200, False),
    ("GET", "care/worklist/", "/care/worklist/", STAFF, 200, False),
    ("POST", "care/patients/<int:pk>/contacts/", "/care/patients/{patient}/contacts/", STAFF,
     302, False),
    ("POST", "care/patients/<int:pk>/step/", "/care/patients/{patient}/step/", CLINICIANS, 302,
     False),
    ("POST", "care/patients/<int:pk>/goals/", "/care/patients/{patient}/goals/", STAFF, 302,
     False),
    ("POST", "care/patients/<int:pk>/psfs-link/", "/care/patients/{patient}/psfs-link/", STAFF,
     302, False),
    ("POST", "care/goals/<int:pk>/status/", "/care/goals/{goal}/status/", STAFF, 302, False),
    ("GET", "care/billing/", "/care/billing/", ADMINS | COORDINATORS, 200, False),
    ("GET", "care/billing.csv", "/care/billing.csv", ADMINS | COORDINATORS, 200, False),
    ("GET", "appointments/week/", "/appointments/week/?date={appointment_day}", STAFF, 200,
     True),
    ("GET", "appointments/day/", "/appointments/day/?date={appointment_day}", STAFF, 200, True),
    ("GET", "appointments/new/", "/appointments/new/", STAFF, 200, False),
    ("POST", "appointments/new/", "/appointments/new/", STAFF, 200, False),
    ("GET", "appointments/<int:pk>/", "/appointments/{individual}/", STAFF, 200, True),
    ("POST", "appointments/<int:pk>/status/", "/appointments/{individual}/status/", STAFF, 302,
     False),
    ("POST", "appointments/<int:pk>/note/", "/appointments/{individual}/note/", CLINICIANS, 302,
     False),
    ("POST", "appointments/reviews/<int:pk>/close/", "/appointments/reviews/{review}/close/",
     STAFF, 302, False),
    # Clinicians' weekly hours and leave: staff planning without patient data.
    ("GET", "appointments/availability/", "/appointments/availability/", ADMINS | COORDINATORS,
     200, False),
    ("POST", "appointments/availability/", "/appointments/availability/",
     ADMINS | COORDINATORS, 200, False),
    ("POST", "appointments/feed/regenerate/", "/appointments/feed/regenerate/", STAFF, 302,
     False),
    ("GET", "metrics/export.csv", "/metrics/export.csv", ADMINS, 200, False),
    ("POST", "metrics/snapshots/", "/metrics/snapshots/", ADMINS, 302, False),
    ("GET", "metrics/snapshots/<int:pk>/progress/", "/metrics/snapshots/{snapshot}/progress/",
     ADMINS, 200, False),
    ("GET", "team/", "/team/", ADMINS, 200, False),
    ("GET", "team/program/", "/team/program/", ADMINS, 200, False),
    ("POST", "team/program/", "/team/program/", ADMINS, 400, False),
    ("GET", "team/sites/", "/team/sites/", ADMINS, 200, False),
    ("POST", "team/sites/", "/team/sites/", ADMINS, 400, False),
    ("GET", "team/staff/", "/team/staff/", ADMINS, 200, False),
    ("POST", "team/staff/", "/team/staff/", ADMINS, 400, False),
    ("GET", "team/staff/<int:pk>/", "/team/staff/{clinician_user}/", ADMINS, 200, False),
    ("POST", "team/staff/<int:pk>/reset-2fa/", "/team/staff/{clinician_user}/reset-2fa/",
     ADMINS, 302, False),
    ("POST", "team/staff/<int:pk>/invite/", "/team/staff/{clinician_user}/invite/", ADMINS,
     302, False),
    ("GET", "team/reassign/", "/team/reassign/", ADMINS, 200, False),
    ("POST", "team/reassign/", "/team/reassign/", ADMINS, 400, False),
]

API = [
    ("GET", "/api/schema/", "/api/schema/?format=json", API_SIGNED_IN, 200, False),
    ("GET", "/api/docs/", "/api/docs/", API_SIGNED_IN, 200, False),
    ("GET", "/api/auth/tokens/", "/api/auth/tokens/", API_SIGNED_IN, 200, False),
    ("DELETE", "/api/auth/tokens/{token_key}/", "/api/auth/tokens/not-mine/", API_SIGNED_IN,
     404, False),
    ("GET", "/api/instruments/", "/api/instruments/", ANY_ROLE, 200, False),
    ("GET", "/api/instruments/{code}/", "/api/instruments/phq9/", ANY_ROLE, 200, False),
    ("GET", "/api/services/", "/api/services/", ANY_ROLE, 200, False),
    ("GET", "/api/patients/", "/api/patients/", STAFF, 200, True),
    ("POST", "/api/patients/", "/api/patients/", CLINICIANS, 400, False),
    ("GET", "/api/patients/{id}/", "/api/patients/{patient}/", STAFF, 200, True),
    # The care team (site, clinician, care manager) is clinicians' and coordinators', as on
    # the patient page; demographics in the body need patient.register (clinicians).
    ("PATCH", "/api/patients/{id}/", "/api/patients/{patient}/", STAFF, 200, False),
    ("POST", "/api/patients/{id}/intake/", "/api/patients/{patient}/intake/", CLINICIANS, 400,
     False),
    ("POST", "/api/patients/{id}/pathway/", "/api/patients/{patient}/pathway/", CLINICIANS,
     400, False),
    ("GET", "/api/patients/{id}/responses/", "/api/patients/{patient}/responses/", STAFF, 200,
     True),
    ("POST", "/api/patients/{id}/questionnaire-links/",
     "/api/patients/{patient}/questionnaire-links/", STAFF, 400, False),
    ("POST", "/api/responses/", "/api/responses/", STAFF, 400, False),
    ("GET", "/api/alerts/", "/api/alerts/", STAFF, 200, True),
    ("GET", "/api/alerts/{id}/", "/api/alerts/{alert}/", STAFF, 200, True),
    ("POST", "/api/alerts/{id}/acknowledge/", "/api/alerts/{alert}/acknowledge/", CLINICIANS,
     400, False),
    ("GET", "/api/referrals/", "/api/referrals/", STAFF, 200, True),
    ("POST", "/api/referrals/", "/api/referrals/", STAFF, 400, False),
    ("GET", "/api/referrals/{id}/", "/api/referrals/{referral}/", STAFF, 200, True),
    ("POST", "/api/referrals/{id}/transition/", "/api/referrals/{referral}/transition/", STAFF,
     400, False),
    ("POST", "/api/referrals/{id}/assign/", "/api/referrals/{referral}/assign/", STAFF, 400,
     False),
    ("GET", "/api/group-series/", "/api/group-series/", STAFF, 200, False),
    ("POST", "/api/group-series/", "/api/group-series/", STAFF, 400, False),
    ("GET", "/api/group-series/{id}/", "/api/group-series/{series}/", STAFF, 200, False),
    ("POST", "/api/group-series/{id}/enrol/", "/api/group-series/{series}/enrol/", STAFF, 400,
     False),
    ("POST", "/api/group-series/{id}/withdraw/", "/api/group-series/{series}/withdraw/", STAFF,
     400, False),
    ("POST", "/api/group-sessions/{id}/attendance/", "/api/group-sessions/{session}/attendance/",
     STAFF, 400, False),
    ("POST", "/api/group-sessions/{id}/cancel/", "/api/group-sessions/{session}/cancel/", STAFF,
     200, False),
    ("GET", "/api/reminders/", "/api/reminders/", STAFF, 200, True),
    ("POST", "/api/reminders/{id}/resend/", "/api/reminders/{reminder}/resend/", STAFF, 409,
     False),
    ("GET", "/api/metrics/program/", "/api/metrics/program/", ADMINS, 200, False),
    ("GET", "/api/patients/{id}/step/", "/api/patients/{patient}/step/", STAFF, 200, True),
    ("POST", "/api/patients/{id}/step/", "/api/patients/{patient}/step/", CLINICIANS, 400,
     False),
    ("GET", "/api/patients/{id}/contacts/", "/api/patients/{patient}/contacts/", STAFF, 200,
     True),
    ("POST", "/api/patients/{id}/contacts/", "/api/patients/{patient}/contacts/", STAFF, 400,
     False),
    ("GET", "/api/patients/{id}/goals/", "/api/patients/{patient}/goals/", STAFF, 200, True),
    ("POST", "/api/patients/{id}/goals/", "/api/patients/{patient}/goals/", STAFF, 400, False),
    ("PATCH", "/api/goals/{id}/", "/api/goals/{goal}/", STAFF, 200, False),
    ("GET", "/api/appointments/", "/api/appointments/", STAFF, 200, True),
    ("POST", "/api/appointments/", "/api/appointments/", STAFF, 400, False),
    ("GET", "/api/appointments/{id}/", "/api/appointments/{individual}/", STAFF, 200, True),
    ("POST", "/api/appointments/{id}/status/", "/api/appointments/{individual}/status/", STAFF,
     400, False),
    ("GET", "/api/appointments/slots/", "/api/appointments/slots/?service=physio", STAFF, 200,
     False),
    ("GET", "/api/appointments/{id}/note/", "/api/appointments/{individual}/note/", STAFF, 200,
     True),
    ("PUT", "/api/appointments/{id}/note/", "/api/appointments/{individual}/note/", CLINICIANS,
     200, False),
    ("POST", "/api/appointments/{id}/note/sign/", "/api/appointments/{individual}/note/sign/",
     CLINICIANS, 200, False),
    ("POST", "/api/appointments/{id}/note/addenda/",
     "/api/appointments/{individual}/note/addenda/", CLINICIANS, 400, False),
    ("GET", "/api/billing/", "/api/billing/?month=2026-01", ADMINS | COORDINATORS, 200, False),
    ("GET", "/api/billing-codes/", "/api/billing-codes/", ADMINS | COORDINATORS, 200, False),
    ("GET", "/api/program/", "/api/program/", ADMINS, 200, False),
    ("PATCH", "/api/program/", "/api/program/", ADMINS, 200, False),
    ("GET", "/api/sites/", "/api/sites/", ADMINS, 200, False),
    ("POST", "/api/sites/", "/api/sites/", ADMINS, 400, False),
    ("GET", "/api/staff/", "/api/staff/", ADMINS, 200, False),
    ("POST", "/api/staff/", "/api/staff/", ADMINS, 400, False),
    ("GET", "/api/staff/{id}/", "/api/staff/{clinician_user}/", ADMINS, 200, False),
    ("PATCH", "/api/staff/{id}/", "/api/staff/{clinician_user}/", ADMINS, 200, False),
    ("POST", "/api/staff/{id}/reset-2fa/", "/api/staff/{clinician_user}/reset-2fa/", ADMINS,
     200, False),
    ("POST", "/api/staff/{id}/invite/", "/api/staff/{clinician_user}/invite/", ADMINS, 202,
     False),
    ("POST", "/api/staff/{id}/reassign/", "/api/staff/{clinician_user}/reassign/", ADMINS,
     400, False),
    # Systems around the program (SPEC §10): letters, letter batches, the cohort export.
    ("GET", "/api/patients/{id}/letters/{kind}/", "/api/patients/{patient}/letters/intake/",
     STAFF, 200, True),
    ("POST", "/api/letters/", "/api/letters/", CLINICIANS, 400, False),
    ("GET", "/api/letters/{id}/", "/api/letters/{nojob}/", CLINICIANS, 404, False),
    ("DELETE", "/api/letters/{id}/", "/api/letters/{nojob}/", CLINICIANS, 404, False),
    ("GET", "/api/letters/{id}/files/{name}/", "/api/letters/{nojob}/files/x.pdf/", CLINICIANS,
     404, False),
    ("POST", "/api/exports/cohort/", "/api/exports/cohort/", ADMINS, 202, False),
    ("GET", "/api/exports/cohort/{id}/", "/api/exports/cohort/{nojob}/", ADMINS, 404, False),
    ("DELETE", "/api/exports/cohort/{id}/", "/api/exports/cohort/{nojob}/", ADMINS, 404, False),
    ("GET", "/api/exports/cohort/{id}/files/{name}/", "/api/exports/cohort/{nojob}/files/x.csv/",
     ADMINS, 404, False),
]

FHIR = [
    ("GET", "^Patient/?$", "/fhir/Patient?identifier=MX-1", STAFF, 200, True),
    ("GET", "^Patient/(?P<id>[^/]+)$", "/fhir/Patient/{patient}", STAFF, 200, True),
    ("GET", "^Questionnaire/?$", "/fhir/Questionnaire", ANY_ROLE, 200, False),
    ("GET", "^Questionnaire/(?P<id>[^/]+)$", "/fhir/Questionnaire/phq9", ANY_ROLE, 200, False),
    ("GET", "^QuestionnaireResponse/?$", "/fhir/QuestionnaireResponse?patient={patient}", STAFF,
     200, True),
    ("GET", "^QuestionnaireResponse/(?P<id>[^/]+)$", "/fhir/QuestionnaireResponse/{response}",
     STAFF, 200, True),
    ("GET", "^Observation/?$", "/fhir/Observation?patient={patient}", STAFF, 200, True),
    ("GET", "^Observation/(?P<id>[^/]+)$", "/fhir/Observation/{observation}", STAFF, 200, True),
    ("GET", "^ServiceRequest/?$", "/fhir/ServiceRequest?patient={patient}", STAFF, 200, True),
    ("GET", "^ServiceRequest/(?P<id>[^/]+)$", "/fhir/ServiceRequest/{referral}", STAFF, 200,
     True),
    ("GET", "^Appointment/?$", "/fhir/Appointment?patient={patient}", STAFF, 200, False),
    ("GET", "^Appointment/(?P<id>[^/]+)$", "/fhir/Appointment/{appointment}", STAFF, 200,
     True),
    ("GET", "^Appointment/(?P<id>[^/]+)$", "/fhir/Appointment/individual-{individual}", STAFF,
     200, True),
    ("GET", "^Encounter/?$", "/fhir/Encounter?patient={patient}", STAFF, 200, True),
    ("GET", "^Encounter/(?P<id>[^/]+)$", "/fhir/Encounter/{individual}", STAFF, 200, True),
    ("GET", "^Schedule/?$", "/fhir/Schedule", STAFF, 200, False),
    ("GET", "^Schedule/(?P<id>[^/]+)$", "/fhir/Schedule/{clinician_user}", STAFF, 200, False),
    ("GET", "^Slot/?$", "/fhir/Slot?schedule=Schedule/{clinician_user}", STAFF, 200, False),
    ("GET", "^Slot/(?P<id>[^/]+)$", "/fhir/Slot/{slot}", STAFF, 200, False),
    ("GET", "^Flag/?$", "/fhir/Flag?patient={patient}", STAFF, 200, True),
    ("GET", "^Flag/(?P<id>[^/]+)$", "/fhir/Flag/{alert}", STAFF, 200, True),
    ("GET", "^DocumentReference/?$", "/fhir/DocumentReference?patient={patient}", STAFF, 200,
     True),
    ("GET", "^DocumentReference/(?P<id>[^/]+)$", "/fhir/DocumentReference/{patient}-intake",
     STAFF, 200, True),
    ("GET", "^Binary/(?P<id>[^/]+)$", "/fhir/Binary/{patient}-intake", STAFF, 200, True),
    ("GET", r"^Patient/(?P<id>[^/]+)/\$everything$", "/fhir/Patient/{patient}/$everything",
     STAFF, 200, True),
    # Referrals in: the integration role only (an empty body is past the role check: 400).
    ("POST", "^ServiceRequest/?$", "/fhir/ServiceRequest", frozenset({INTEG}), 400, False),
    ("POST", "^$", "/fhir/", frozenset({INTEG}), 400, False),
    # Bulk Data: clinicians (without 'Prefer: respond-async' the kick-off is a 400).
    ("GET", r"^\$export$", "/fhir/$export", CLINICIANS, 400, False),
    ("GET", r"^Patient/\$export$", "/fhir/Patient/$export", CLINICIANS, 400, False),
    ("GET", r"^\$export-status/(?P<job>[0-9a-f-]{36})$", "/fhir/$export-status/{nojob}",
     CLINICIANS, 404, False),
    ("GET", r"^\$export-file/(?P<job>[0-9a-f-]{36})/(?P<name>[A-Za-z]+\.ndjson)$",
     "/fhir/$export-file/{nojob}/Patient.ndjson", CLINICIANS, 404, False),
]

# Routes that check no role, each for a reason (the rest must name a table permission).
PUBLIC = {
    "healthz": "load balancer health check",
    "livez": "process liveness",
    "accounts/login/": "the login page",
    "accounts/logout/": "logging out",
    "accounts/2fa/setup/": "second-factor enrolment (any signed-in person)",
    "accounts/2fa/verify/": "second-factor check (any signed-in person)",
    "q/<str:token>/": "the patient's questionnaire link (the token is the credential)",
    "reminders/stop/<str:token>/": "the patient's stop-reminders link",
    "appointments/feed/<str:token>.ics": "a clinician's calendar feed (the token is the "
                                         "credential)",
    "team/invite/<str:token>/": "a new staff member's set-password link (the token is the "
                                "credential)",
    "api/auth/token/": "obtaining an API token",
    "api/^.*$": "JSON 404 for unknown API paths",
    "fhir/metadata": "FHIR CapabilityStatement, read before authenticating",
    "fhir/^(?P<path>.*)$": "FHIR 404 OperationOutcome for unknown paths",
}
ANY_SIGNED_IN = {
    "": "home page: each role sees its own widgets; no patient data without a role",
    "accounts/": "one's own account: second factor and API tokens",
    "appointments/": "redirect to the week calendar (which checks the role)",
    "accounts/2fa/disable/": "turning one's own second factor off (needs a verified session)",
    "accounts/2fa/recovery-codes/": "one's own recovery codes (needs a verified session)",
    "accounts/tokens/<str:token_key>/revoke/": "revoking one's own API token",
    "api/auth/tokens/": "listing one's own API tokens",
    "api/auth/tokens/<str:token_key>/": "revoking one's own API token",
    "api/schema/": "OpenAPI schema",
    "api/docs/": "Swagger UI",
}


# --- The world ---------------------------------------------------------------------------

@pytest.fixture
def world(db):
    from clinic.services import intake_record
    from metrics.models import MetricSnapshot
    from outcomes.services import response_create
    from patients.services import patient_create
    from referrals.models import MdtAttendee, Service
    from referrals.services import mdt_agenda_add, mdt_meeting_create, referral_create
    from reminders.services import reminder_schedule
    from visits.models import GroupSeries, GroupSession
    from visits.services import enrolment_create

    users = {CLIN: make_user("m-clin", CLIN), COORD: make_user("m-coord", COORD),
             ADMIN: make_user("m-admin", ADMIN), INTEG: make_user("m-robot", INTEG),
             NOBODY: make_user("m-nobody")}
    p = patient_create(actor=users[CLIN], mrn="MX-1", given_name="Mat", family_name="Rix",
                       birth_date=date(1970, 1, 1), email="mat@example.org",
                       consent_to_contact=True)
    intake = intake_record(patient=p, red_flags=NO_FLAGS,
                           startback={f"q{i}": 1 for i in range(1, 9)} | {"q9": 4},
                           actor=users[CLIN])
    response = response_create(patient=p, instrument="phq9",
                               answers={f"q{i}": 1 for i in range(1, 10)}, actor=users[CLIN])
    alert = p.safety_alerts.get()  # PHQ-9 item 9 above 0
    ref = referral_create(patient=p, service=Service.objects.get(code="physio"),
                          reason="Back pain", actor=users[CLIN])
    reminder = reminder_schedule(kind="questionnaire_due", target_type="questionnaire_link",
                                 target_id=1, patient=p, channel="email", offset="0d",
                                 scheduled_for=timezone.now() + timedelta(days=1))
    series = GroupSeries.objects.create(name="Pain school",
                                        service=Service.objects.get(code="group_programme"),
                                        capacity=8)
    session = GroupSession.objects.create(series=series,
                                          starts_at=timezone.now() + timedelta(days=3))
    meeting = mdt_meeting_create(scheduled_for=timezone.now() + timedelta(days=2),
                                 location="Room 1", actor=users[COORD])
    attendee = MdtAttendee.objects.create(meeting=meeting, discipline="Physio",
                                          user=users[CLIN])
    agenda = mdt_agenda_add(meeting=meeting, referral=ref, actor=users[COORD])
    today = timezone.localdate()
    snapshot = MetricSnapshot.objects.create(period_start=today - timedelta(days=30),
                                             period_end=today - timedelta(days=1))
    enrolment_create(series=series, patient=p, actor=users[COORD])
    from care.services import goal_create

    goal = goal_create(patient=p, text="Walk to the shops", actor=users[COORD])
    individual, review, slot = _appointment_world(users, p, ref)
    ids = {"patient": p.pk, "intake": intake.pk, "response": response.pk, "alert": alert.pk,
           "referral": ref.pk, "reminder": reminder.pk, "series": series.pk,
           "session": session.pk, "appointment": session.pk, "meeting": meeting.pk,
           "attendee": attendee.pk, "agenda": agenda.pk, "snapshot": snapshot.pk,
           "clinician_user": users[CLIN].pk, "goal": goal.pk,
           "individual": individual.pk, "review": review.pk, "slot": slot,
           "appointment_day": timezone.localdate(individual.starts_at).isoformat(),
           "nojob": "00000000-0000-4000-8000-000000000000",
           "observation": _first_fhir_id(users[CLIN], f"/fhir/Observation?patient={p.pk}")}
    return {"users": users, "patient": p, "ids": ids}


def _appointment_world(users, patient, referral):
    """A one-to-one appointment with the world's clinician, attended (it starts in five
    minutes or so) with an unsigned note; the clinician's weekly hours (every day, for Schedule and
    Slot); an open missed-visit review of the referral; a free slot's FHIR id."""
    from appointments import services as appointments
    from appointments.models import AttendanceReview
    from referrals.models import Service

    clinician, site = users[CLIN], users[CLIN].sites.get()
    appointments.weekly_availability_set(
        clinician=clinician, site=site, windows=[(d, "08:00", "18:00", None) for d in range(7)],
        actor=users[COORD])
    individual = appointments.appointment_book(
        patient=patient, clinician=clinician, service=Service.objects.get(code="physio"),
        starts_at=(timezone.now() + timedelta(minutes=6)).replace(second=0, microsecond=0),
        duration_minutes=30, site=site,
        override=True, reason="Squeezed in", actor=users[COORD])
    appointments.appointment_status_set(appointment=individual, status="attended",
                                        actor=clinician)
    appointments.visit_note_save(appointment=individual, actor=clinician, assessment="Better",
                                 minutes=20)
    review = AttendanceReview.objects.create(referral=referral, patient=patient, missed=2)
    slot = _first_fhir_id(clinician, f"/fhir/Slot?schedule=Schedule/{clinician.pk}")
    return individual, review, slot


def _first_fhir_id(user, path):
    bundle = api_client_for(user).get(path, HTTP_ACCEPT="application/fhir+json").json()
    entries = bundle.get("entry") or []
    return entries[0]["resource"]["id"] if entries else "none"


# --- Helpers -----------------------------------------------------------------------------

def _routes():
    """(route, callback) for every URL pattern, the admin site aside."""
    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern), p.callback
    return [(r, cb) for r, cb in walk(get_resolver().url_patterns, "")
            if not r.startswith("admin/")]


def _view_permissions(callback) -> set:
    """The table permissions a route names (pages: `requires` or `permission`; DRF views:
    `permission`, by action or method), or an empty set."""
    cls = getattr(callback, "cls", None)
    if cls is not None:  # DRF
        from rest_framework.permissions import AllowAny

        if any(p is AllowAny for p in cls.permission_classes):
            return set()
        return set(roles.view_permissions(cls))
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return {view_class.permission} if getattr(view_class, "permission", "") else set()
    permission = getattr(callback, "ipm_permission", None)
    return {permission} if permission else set()


def _client(role, world):
    if role == ANON:
        return Client()
    c = Client()
    c.force_login(world["users"][role])
    return c


def _api_client(role, world):
    if role == ANON:
        from rest_framework.test import APIClient

        return APIClient()
    return api_client_for(world["users"][role])


def _last_audit_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _audited(before_id: int, patient_id: int) -> bool:
    for ev in AuditEvent.objects.filter(id__gt=before_id):
        if ev.patient_id == patient_id or patient_id in (ev.detail or {}).get("patient_ids", []):
            return True
    return False


def _expected(role, allowed, ok, *, page: bool):
    if role in allowed:
        return ok
    if role == ANON:
        return 302 if page else 401
    return 403


# --- Coverage: every route and operation has a row and a table permission ----------------

def test_every_page_route_has_a_row_and_every_row_a_route():
    served = {r for r, _ in _routes() if not r.startswith(("api/", "fhir/"))}
    rows = {route for _, route, *_ in PAGES}
    missing = served - rows - set(PUBLIC) - set(ANY_SIGNED_IN)
    assert not missing, f"pages without a row in the access matrix: {sorted(missing)}"
    assert not rows - served, f"rows for routes that do not exist: {sorted(rows - served)}"


def test_every_api_operation_in_the_schema_has_a_row(api):
    paths = api.get("/api/schema/?format=json").json()["paths"]
    operations = {(method.upper(), path) for path, item in paths.items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")
                  and path.startswith("/api/")}
    rows = {(method, route) for method, route, *_ in API}
    missing = operations - rows - {("POST", "/api/auth/token/")}
    assert not missing, f"API operations without a row in the access matrix: {sorted(missing)}"
    assert not rows - operations - {("GET", "/api/schema/"), ("GET", "/api/docs/")}


def test_every_fhir_route_has_a_row():
    served = {r[len("fhir/"):] for r, _ in _routes() if r.startswith("fhir/")}
    rows = {route for _, route, *_ in FHIR}
    missing = served - rows - {"metadata", "^(?P<path>.*)$"}
    assert not missing, f"FHIR routes without a row in the access matrix: {sorted(missing)}"


def test_every_route_names_a_permission_from_the_one_table():
    unnamed, unknown = [], []
    for route, callback in _routes():
        if route in PUBLIC or route in ANY_SIGNED_IN:
            continue
        names = _view_permissions(callback)
        if not names:
            unnamed.append(route)
        unknown += [f"{route}: {n}" for n in names if n not in roles.PERMISSIONS]
    assert not unnamed, f"routes deciding roles on their own (name a permission): {unnamed}"
    assert not unknown, f"permissions missing from ipm.roles.PERMISSIONS: {unknown}"


def test_the_table_gives_clinical_decisions_to_clinicians_only():
    """SPEC §1: intake and stratification, pathway decisions, medication review and acting
    on safety alerts are clinicians'; admins never see patient detail."""
    for permission in ("patient.intake", "patient.pathway", "medication.review", "alert.act"):
        assert roles.PERMISSIONS[permission] == (roles.CLINICIAN,)
    for permission, holders in roles.PERMISSIONS.items():
        if permission.split(".")[0] not in ("reference", "metrics", "audit", "staff",
                                            "program", "site"):
            assert roles.ADMIN not in holders, permission


def test_only_sending_referrals_names_the_integration_role():
    """A service account (docs/product.md §1, §10) reads nothing: the one permission that
    names it is sending referrals in."""
    assert [p for p, holders in roles.PERMISSIONS.items() if roles.INTEGRATION in holders] \
        == ["referral.receive"]


# --- Behaviour: the expected status per role ---------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_expected_status_on_every_page(world, role):
    c = _client(role, world)
    failures = []
    for method, _route, template, allowed, ok, reads_patient in PAGES:
        path = template.format(**world["ids"])
        before = _last_audit_id()
        r = c.get(path) if method == "GET" else c.post(path, {})
        expected = _expected(role, allowed, ok, page=True)
        if r.status_code != expected:
            failures.append(f"{role} {method} {path}: {r.status_code}, expected {expected}")
        elif expected == 302 and role == ANON:
            assert r["Location"].startswith("/accounts/login/"), path
        elif role in allowed and reads_patient and not _audited(before, world["patient"].pk):
            failures.append(f"no audit row for {role} {method} {path}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_expected_status_on_every_api_operation(world, role):
    c = _api_client(role, world)
    failures = []
    for method, _route, template, allowed, ok, reads_patient in API + [
            (m, "fhir " + r, t, a, o, rp) for m, r, t, a, o, rp in FHIR]:
        path = template.format(**world["ids"])
        before = _last_audit_id()
        r = getattr(c, method.lower())(path, {}, format="json") if method != "GET" else c.get(
            path)
        expected = _expected(role, allowed, ok, page=False)
        if r.status_code != expected:
            failures.append(f"{role} {method} {path}: {r.status_code}, expected {expected}")
        elif role in allowed and reads_patient and not _audited(before, world["patient"].pk):
            failures.append(f"no audit row for {role} {method} {path}")
    assert not failures, "\n".join(failures)


def test_an_integration_account_reads_nothing(world):
    """SPEC §10: the service account may send referrals in, and do nothing else."""
    account = api_client_for(make_user("m-gp-system", roles.INTEGRATION))
    failures = []
    for method, _route, template, allowed, _ok, _reads in API + FHIR:
        if (method, _route) in (("POST", "^ServiceRequest/?$"), ("POST", "^$")) \
                or NOBODY in allowed:  # schema, docs, one's own tokens: any signed-in user
            continue
        path = template.format(**world["ids"])
        r = getattr(account, method.lower())(path, {}, format="json") if method != "GET" \
            else account.get(path)
        if r.status_code != 403:
            failures.append(f"integration {method} {path}: {r.status_code}")
    assert not failures, "\n".join(failures)
    r = account.post("/fhir/ServiceRequest", {}, format="json")
    assert r.status_code == 400  # past the role check: the body is not a ServiceRequest


# --- The attack in the issue --------------------------------------------------------------

INTAKE = {"red_flags": NO_FLAGS, "startback": {f"q{i}": 1 for i in range(1, 9)} | {"q9": 4}}


def test_a_coordinator_cannot_record_an_intake_or_decide_a_pathway_through_the_api(world):
    p = world["patient"]
    coordinator = api_client_for(world["users"][COORD])
    before = p.intakes.count()
    r = coordinator.post(f"/api/patients/{p.pk}/intake/", INTAKE, format="json")
    assert r.status_code == 403
    r = coordinator.post(f"/api/patients/{p.pk}/pathway/", {"pathway": "self_management",
                                                             "reason": "x"}, format="json")
    assert r.status_code == 403
    p.refresh_from_db()
    assert p.intakes.count() == before and p.pathway != "self_management"
    # The clinician, with the same bodies, succeeds.
    clinician = api_client_for(world["users"][CLIN])
    assert clinician.post(f"/api/patients/{p.pk}/intake/", INTAKE,
                          format="json").status_code == 201
    assert clinician.post(f"/api/patients/{p.pk}/pathway/", {"pathway": "self_management",
                                                              "reason": "Prefers it"},
                          format="json").status_code == 200
