"""Secrets are never logged or stored in the clear (issue 16 §3): questionnaire and stop
link tokens, and search terms (names, MRNs), in audit rows and in every log line."""

import io
import logging
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from ipm.models import AuditEvent
from ipm.redact import TOKEN_PATH_PREFIXES, RedactingFilter, redact

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(program, clinician):
    from patients.models import Patient

    return Patient.objects.create(
        program=program, mrn="MRN777001", given_name="Robin", family_name="Hartley",
        birth_date=date(1970, 1, 1), email="robin@example.org", preferred_channel="email",
        consent_to_contact=True, intake_date=date(2026, 1, 5), clinician=clinician)


@pytest.fixture
def link(patient):
    from outcomes import services

    link, url = services.questionnaire_link_create(patient=patient, instruments=["peg"])
    link.token_path = "/q/" + url.split("/q/", 1)[1]
    link.token = link.token_path.split("/")[2]
    return link


def test_it_masks_link_tokens_and_search_terms():
    assert redact("GET /q/Abc_123-xyz/?step=1 HTTP/1.1") == "GET /q/***/?step=1 HTTP/1.1"
    assert redact("/reminders/stop/eyJwIjo1fQ:Zx9_a/") == "/reminders/stop/***/"
    assert redact("https://ipm.example.org/q/Abc_123") == "https://ipm.example.org/q/***"
    assert (redact("GET /api/patients/?q=Hartley&page=2&risk_group=high")
            == "GET /api/patients/?q=***&page=2&risk_group=high")
    assert (redact("/fhir/Patient?name:exact=Robin&identifier=MRN1|x&birthdate=ge1970-01-01")
            == "/fhir/Patient?name:exact=***&identifier=***&birthdate=***")
    assert redact("q=MRN777001&page=1") == "q=***&page=1"  # gunicorn's %(q)s atom
    assert redact("/reminders/?patient=MRN777001") == "/reminders/?patient=***"
    # Nothing else is touched.
    for same in ("GET /patients/12/ HTTP/1.1", "/api/patients/?page=2&ordering=-id",
                 "/faq/x", "audit-checkpoint seq=3 hash=ab12"):
        assert redact(same) == same


def test_every_route_with_a_token_in_its_path_is_masked():
    """A new `<token>`-style route must be added to ipm.redact.TOKEN_PATH_PREFIXES."""
    secret_names = {"token", "key", "secret", "signature"}

    def walk(patterns, prefix):
        for p in patterns:
            route = str(p.pattern)
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + route)
            elif isinstance(p, URLPattern):
                yield prefix + route, set(p.pattern.converters)

    found = []
    for route, params in walk(get_resolver().url_patterns, "/"):
        for name in params & secret_names:
            found.append(route.split(f"<str:{name}>")[0].split(f"<{name}>")[0])
    assert found, "expected the questionnaire and stop links"
    for prefix in found:
        assert prefix in TOKEN_PATH_PREFIXES, prefix
        assert redact(prefix + "s3cr3t-T0ken/") == prefix + "***/"


def test_a_questionnaire_read_audits_the_link_id_never_its_token(link):
    r = Client().get(link.token_path)
    assert r.status_code == 200
    row = AuditEvent.objects.filter(action="read", object_type="outcomes.questionnairelink").get()
    assert row.object_id == str(link.pk)
    assert row.path == "/q/***/"
    assert not AuditEvent.objects.filter(path__contains=link.token).exists()
    assert link.token not in str(row.detail)


def test_a_stop_link_never_reaches_the_audit_trail(patient):
    from reminders.tokens import stop_token

    token = stop_token(patient.pk)
    r = Client().post(f"/reminders/stop/{token}/")
    assert r.status_code == 200
    assert AuditEvent.objects.filter(patient_id=patient.pk).exists()
    assert not AuditEvent.objects.filter(path__contains=token).exists()
    assert not AuditEvent.objects.filter(detail__icontains=token).exists()


def test_djangos_warnings_for_unknown_and_used_links_carry_no_token(link, caplog):
    c = Client()
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert c.get("/q/not-a-real-token-0123456789/").status_code == 404
        link.expires_at = link.created_at - timedelta(days=1)
        link.save(update_fields=["expires_at"])
        assert c.get(link.token_path).status_code == 410
    lines = [r.getMessage() for r in caplog.records]
    assert "Not Found: /q/***/" in lines
    assert "Gone: /q/***/" in lines
    text = caplog.text
    assert link.token not in text and "not-a-real-token" not in text


def test_runservers_request_line_carries_no_search_term_or_token(caplog):
    """django.server logs the request line, query string included, exactly like this
    (django/core/servers/basehttp.py, WSGIRequestHandler.log_message)."""
    server = logging.getLogger("django.server")
    with caplog.at_level(logging.INFO, logger="django.server"):
        server.info('"%s" %s %s', "GET /patients/?q=Hartley&risk_group=high HTTP/1.1", "200", "5")
        server.warning('"%s" %s %s', "GET /q/SecretTok123/ HTTP/1.1", "404", "5")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ['"GET /patients/?q=***&risk_group=high HTTP/1.1" 200 5',
                     '"GET /q/***/ HTTP/1.1" 404 5']


def test_the_configured_handlers_write_masked_lines(link):
    """Settings LOGGING's console handler (and Django's own, e.g. runserver's
    django.server) carry the filter: the written line is masked even for a record that
    bypassed the record factory (a str() of an object, a traceback)."""
    handlers = [h for name in ("", "django", "django.server", "django.request")
                for h in logging.getLogger(name).handlers
                if not type(h).__module__.startswith("_pytest")]  # pytest's own capture
    assert handlers
    assert all(any(isinstance(f, RedactingFilter) for f in h.filters) for h in handlers), [
        (h, h.filters) for h in handlers]

    console = next(h for h in logging.getLogger().handlers
                   if isinstance(h, logging.StreamHandler) and "redact" not in repr(h.stream)
                   and any(isinstance(f, RedactingFilter) for f in h.filters))
    stream = io.StringIO()
    old = console.setStream(stream)
    try:
        class Request:
            def __str__(self):
                return f"<WSGIRequest: GET '{link.token_path}?q=Hartley'>"

        log = logging.getLogger("ipm.tests.redact")
        log.warning("failed on %s", Request())
        try:
            raise ValueError(f"bad link {link.token_path}")
        except ValueError:
            log.exception("boom")
    finally:
        console.setStream(old)
    out = stream.getvalue()
    assert "failed on <WSGIRequest: GET '/q/***/?q=***'>" in out
    assert "bad link /q/***/" in out
    assert link.token not in out and "Hartley" not in out


def test_gunicorns_access_log_masks_tokens_search_terms_and_referer(tmp_path):
    from datetime import timedelta as td

    from gunicorn.config import Config

    from ipm.redact import GunicornLogger

    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    logger = GunicornLogger(cfg)

    class Resp:
        status = "404 Not Found"
        headers = []
        sent = 10
        response_length = 10

    class Req:
        headers = [("REFERER", "https://ipm.example.org/q/RefTok987/")]

    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/q/SecretTok123/?q=Hartley",
               "PATH_INFO": "/q/SecretTok123/", "QUERY_STRING": "q=Hartley",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.9",
               "HTTP_USER_AGENT": "curl", "HTTP_REFERER": "https://ipm.example.org/q/RefTok987/"}
    logger.access(Resp(), Req(), environ, td(milliseconds=5))
    logger.error("Not Found: %s", "/reminders/stop/eyJwIjo1fQ:abc/")
    for handler in logger.access_log.handlers + logger.error_log.handlers:
        handler.flush()
    access = (tmp_path / "access.log").read_text()
    error = (tmp_path / "error.log").read_text()
    assert '"GET /q/***/?q=*** HTTP/1.1" 404' in access
    assert "https://ipm.example.org/q/***/" in access
    for secret in ("SecretTok123", "Hartley", "RefTok987"):
        assert secret not in access
    assert "/reminders/stop/***/" in error and "eyJwIjo1fQ" not in error
