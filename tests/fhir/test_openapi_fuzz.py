"""Property-based contract test: Schemathesis reads /api/schema/ at test time and fuzzes
every operation in it (authenticated with a real token, in-process through the WSGI app),
checking that nothing answers 5xx and that every answer matches the schema: documented
status code, content type, headers and body.

Generic on purpose: new endpoints are covered as soon as they are in the schema. The run is
bounded (a few examples per operation, no deadline) so it stays a unit-test-sized check.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from ipm import roles
from ipm.wsgi import application
from tests.conftest import make_user, token_for

EXAMPLES_PER_OPERATION = 15

# Every check Schemathesis has for single calls: "no 5xx", the response against the schema
# (status code, content type, headers, body), negative data refused with 4xx and positive
# (schema-valid) data accepted, auth not ignored, undocumented methods answered 405 and
# missing required headers refused. Left out: max_response_time (a benchmark, not a
# contract) and the stateful checks (use_after_free, ensure_resource_availability), which
# need links between operations and judge sequences, not single calls.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.positive_data_acceptance,
    checks.ignored_auth,
    checks.missing_required_header,
    checks.unsupported_method,
]


# Known failures in other apps' endpoints, reported to their owners: (METHOD, path, mode) →
# what breaks. Marked xfail (not strict: fuzzing may miss a bug on a given run) so they stay
# visible in the summary; delete an entry once its endpoint is fixed.
KNOWN_FAILURES: dict = {}

# Rules a schema cannot express, per operation: there, schema-valid input may still be
# refused with 400, so positive_data_acceptance is not run for it (every other check is).
# Each entry names the rules; unknown ids in the path are a 404, which the check accepts.
INEXPRESSIBLE: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/api/patients/"): (
        "birth_date is not after today (the bound moves every day)",
        "timezone is an IANA zone name (the list depends on the server's tz database)",
    ),
    ("POST", "/api/patients/{id}/intake/"): (
        "each questionnaire's answers must suit that instrument's items and options, and "
        "the body arrives as a form too (nested objects cannot be form-encoded)",
    ),
    ("POST", "/api/alerts/{id}/acknowledge/"): (
        "`note` is not blank once trimmed (docs/product.md §7: the action needs its note)",
        "no NUL character in any string (ipm.middleware.RejectNulMiddleware: 400 before the "
        "view, so even an unknown alert id answers 400)",
    ),
    ("POST", "/api/responses/"): (
        "`answers` must suit the instrument named by the sibling field `instrument`",
        "`patient` must name an existing patient (a reference in the body: 400 on the field)",
        "answered_at is not in the future (the bound moves)",
    ),
    ("POST", "/api/referrals/"): (
        "`patient` must name an existing patient and `service` an active service",
    ),
    ("POST", "/api/referrals/{id}/assign/"): (
        "`assignee` must be an active user holding the clinician or coordinator role",
    ),
    ("POST", "/api/group-series/"): (
        "`service` must name an active service; the lead clinician must hold the clinician "
        "role and facilitators must be active users",
    ),
    ("POST", "/api/appointments/"): (
        "`patient`, `clinician` and `service` must name an existing patient of the caller's "
        "sites, an active clinician of the site and an active service (references in the "
        "body: 400 on the field)",
        "starts_at is in the future (the bound moves) and inside the clinician's "
        "availability unless `override` comes with a `reason` (two fields)",
    ),
    ("GET", "/api/appointments/slots/"): (
        "a `clinician` or a `service` is needed (one of two parameters)",
        "`clinician`, `service` and `site` must name existing ones",
        "`to` is on or after `from` and at most 31 days after it (two parameters)",
    ),
    ("PATCH", "/api/program/"): (
        "`clinical_lead` and `deputy_lead` must name existing active clinicians, two "
        "different people (references in the body)",
        "`working_hours` gives every weekday, each [HH:MM, HH:MM] with the start first, "
        "or null",
        "`time_zone` is an IANA zone name; `holiday_country`/`holiday_region` a calendar "
        "the holidays library knows",
    ),
    ("POST", "/api/sites/"): (
        "`time_zone` is an IANA zone name (the list depends on the server's tz database)",
        "`name` is not blank once trimmed",
    ),
    ("POST", "/api/staff/"): (
        "`sites` must name existing sites and may be empty only for admin or integration "
        "accounts (a rule across two fields)",
    ),
    ("PATCH", "/api/staff/{id}/"): (
        "`sites` must name existing sites and may be empty only for admin or integration "
        "accounts; a clinician keeps an email address (rules across fields and the row)",
    ),
    ("GET", "/api/metrics/program/"): (
        "`to` is on or after `from` and the range spans at most 3 years (two parameters)",
        "`service` must name an existing service",
        "dates lie in 2000-2099 (OpenAPI has no bounds for a date)",
    ),
}


def in_test_transaction(environ, start_response):
    """The WSGI app, minus Django's per-request connection closing: like Django's test
    client, so requests share the test's database transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = application(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            response.close()  # fires request_finished while close_old_connections is off
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_token(db):
    """A user holding every role, so role checks let the fuzzer reach every operation."""
    user = make_user("fuzzer", *roles.ROLES)
    return token_for(user)


@pytest.fixture
def api_schema(fuzz_token):
    return schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", in_test_transaction,
        headers={"Authorization": f"Token {fuzz_token}", "Accept": "application/json"})


def _operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in the schema, for test ids. The schema that is
    fuzzed is the one /api/schema/ serves, fetched in the test; this only names the tests.
    (schemathesis.pytest.from_fixture does not run under pytest 9, hence this.)"""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return [(method.upper(), path) for path, item in paths.items() for method in item
            if method in ("get", "put", "post", "patch", "delete")]


def pytest_generate_tests(metafunc):
    if "operation_key" in metafunc.fixturenames:
        keys = _operations()
        metafunc.parametrize("operation_key", keys, ids=[f"{m} {p}" for m, p in keys])


@pytest.mark.django_db
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_it_keeps_the_openapi_contract(request, api_schema, fuzz_token, operation_key, mode):
    method, path = operation_key
    known = KNOWN_FAILURES.get((method, path, mode.value))
    if known:
        request.applymarker(pytest.mark.xfail(reason=known, strict=False))
    operation = api_schema.find_operation_by_path(method, path)
    assert operation is not None, f"{method} {path} is not in the served schema"
    auth = {"Authorization": f"Token {fuzz_token}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
              database=None, suppress_health_check=list(HealthCheck))
    def fuzz(case):
        case.call_and_validate(headers=auth, checks=checks_for)

    checks_for = CHECKS
    if (method, path) in INEXPRESSIBLE:
        checks_for = [c for c in CHECKS if c is not checks.positive_data_acceptance]

    try:
        fuzz()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        pytest.skip("Nothing in this operation's input can be made invalid (e.g. one free "
                    "string path parameter).")


def test_it_documents_every_api_route_it_serves(api):
    """The schema lists the API's routes (FHIR is excluded on purpose: its contract is the
    CapabilityStatement at /fhir/metadata)."""
    paths = api.get("/api/schema/?format=json").json()["paths"]
    assert "/api/auth/token/" in paths
    # The patient link is an endpoint too: documented (no auth), so it is fuzzed as well.
    link = paths["/q/{token}/"]
    assert set(link) == {"get", "post"}
    assert "security" not in link["get"] and "401" not in link["post"]["responses"]
    assert {"201", "400", "404", "410", "429"} <= set(link["post"]["responses"])
    assert not [p for p in paths if p.startswith("/fhir/")]
