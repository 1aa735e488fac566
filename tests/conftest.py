"""Shared fixtures: a cast of named users (one per role), API clients with real tokens,
and the rules for PostgreSQL- and Redis-only tests (skipped locally when missing, failing
under CI=true)."""

import os

import pytest
from django.db import connection
from rest_framework.test import APIClient

from ipm import roles

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Production settings require AUDIT_HMAC_KEY: tests that start the app with them in a
# subprocess inherit this one (test_audit_chain.py checks the requirement itself).
os.environ.setdefault("AUDIT_HMAC_KEY", "tests-only-audit-hmac-key-0123456789-abcdefgh")
_skipped_for_service: list[str] = []


def _on_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items):
    redis_url = os.environ.get("IPM_TEST_REDIS_URL", "")
    on_pg = os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql"))
    for item in items:
        missing = None
        if item.get_closest_marker("postgres") and not on_pg:
            missing = "PostgreSQL"
        if item.get_closest_marker("redis") and not (redis_url and on_pg):
            missing = "Redis and PostgreSQL" if not on_pg else "Redis"
        if item.get_closest_marker("replica") and not (on_pg and _standby_answers()):
            missing = "a PostgreSQL streaming standby (bash scripts/replica.sh)"
        if item.get_closest_marker("e2e") and not os.path.exists(
                os.environ.get("IPM_CHROMIUM", "/usr/bin/chromium")):
            missing = "Chromium (/usr/bin/chromium)"
        if missing is None:
            continue
        reason = f"needs {missing}"
        if IN_CI:
            item.add_marker(pytest.mark.usefixtures("_fail_missing_service"))
            item.user_properties.append(("missing_service", reason))
        else:
            _skipped_for_service.append(f"{item.nodeid} ({reason})")
            item.add_marker(pytest.mark.skip(reason=reason))


def _standby_answers() -> bool:
    import socket
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("IPM_TEST_REPLICA_URL", "postgres://postgres@127.0.0.1:5433/"))
    try:
        socket.create_connection((url.hostname, url.port or 5432), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def _fail_missing_service(request):
    reason = dict(request.node.user_properties).get("missing_service", "a service")
    pytest.fail(f"CI=true and this test {reason}: start the service instead of skipping.")


def pytest_terminal_summary(terminalreporter):
    if _skipped_for_service:
        terminalreporter.section("skipped: services not available here")
        for line in _skipped_for_service:
            terminalreporter.write_line(line)


def make_user(username: str, *role_names: str, password: str = "pw-for-tests-1"):
    from django.contrib.auth.models import Group, User

    roles.ensure_role_groups()
    user = User.objects.create_user(username=username, password=password,
                                    first_name=username.title())
    user.groups.set(Group.objects.filter(name__in=role_names))
    from patients.models import Program

    user.sites.add(Program.default().sites.order_by("pk").first())  # the program's first site
    return user


@pytest.fixture
def clinician(db):
    return make_user("casey", roles.CLINICIAN)


@pytest.fixture
def coordinator(db):
    return make_user("corey", roles.COORDINATOR)


@pytest.fixture
def admin_user(db):
    return make_user("ada", roles.ADMIN)


@pytest.fixture
def nobody(db):
    """Logged in, but holding no role."""
    return make_user("nora")


def token_for(user) -> str:
    """A real API token (django-rest-knox: stored hashed, with an expiry) for `user`."""
    from knox.models import AuthToken

    _, token = AuthToken.objects.create(user=user)
    return token


def api_client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


@pytest.fixture
def api(clinician):
    """API client authenticated as the clinician, with a real token."""
    return api_client_for(clinician)


@pytest.fixture
def coordinator_api(coordinator):
    return api_client_for(coordinator)


@pytest.fixture
def admin_api(admin_user):
    return api_client_for(admin_user)


@pytest.fixture
def program(db):
    from patients.models import Program

    return Program.default()
