"""Throttles and lock-out that hold: one client address (only configured proxies trusted)
for audit, axes and throttles; a per-address lock-out across usernames; throttling that
degrades when Redis is down; over-long usernames refused with 400."""

import logging

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory, override_settings

from ipm.models import AuditEvent
from ipm.net import client_address
from ipm.throttling import TokenThrottle

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-1"


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def _request(remote="203.0.113.5", forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.mark.parametrize(("trusted", "remote", "forwarded", "expected"), [
    (0, "203.0.113.5", None, "203.0.113.5"),
    (0, "203.0.113.5", "198.51.100.1", "203.0.113.5"),          # header ignored
    (1, "10.0.0.2", "198.51.100.1", "198.51.100.1"),            # one proxy: its entry
    (1, "10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),   # client-added left part ignored
    (2, "10.0.0.3", "6.6.6.6, 198.51.100.1, 10.0.0.2", "198.51.100.1"),
    (2, "10.0.0.3", "198.51.100.1", "10.0.0.3"),                # too few hops: the peer
    (1, "10.0.0.2", "not-an-address", "10.0.0.2"),              # garbage: the peer
    (1, "10.0.0.2", "[2001:db8::1]:443", "2001:db8::1"),
])
def test_it_decides_the_client_address_trusting_only_configured_proxies(
        settings, trusted, remote, forwarded, expected):
    settings.IPM_TRUSTED_PROXY_COUNT = trusted
    assert client_address(_request(remote, forwarded)) == expected


def test_axes_and_the_audit_trail_use_the_same_address(settings, api):
    from axes.helpers import get_client_ip_address

    settings.IPM_TRUSTED_PROXY_COUNT = 0
    request = _request("203.0.113.5", "6.6.6.6")
    assert get_client_ip_address(request) == "203.0.113.5"
    api.get("/api/patients/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert AuditEvent.objects.filter(ip="6.6.6.6").count() == 0
    assert settings.AXES_CLIENT_IP_CALLABLE == "ipm.net.client_address"


def _token(client, username="casey", password=PASSWORD, **extra):
    return client.post("/api/auth/token/", {"username": username, "password": password},
                       content_type="application/json", **extra)


def test_rotating_x_forwarded_for_does_not_evade_the_token_throttle(clinician, monkeypatch):
    monkeypatch.setattr(TokenThrottle, "rate", "3/min", raising=False)
    c = Client()
    statuses = [_token(c, password="wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code
                for i in range(6)]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429, 429]
    r = _token(c, HTTP_X_FORWARDED_FOR="192.0.2.77")
    assert r.status_code == 429 and r.json()["message"]
    # Another real address is not affected.
    assert _token(Client(REMOTE_ADDR="192.0.2.8")).status_code == 200


@override_settings(IPM_TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_the_throttle_keys_on_the_address_the_proxy_saw(clinician, monkeypatch):
    monkeypatch.setattr(TokenThrottle, "rate", "2/min", raising=False)
    c = Client(REMOTE_ADDR="10.0.0.2")  # the proxy
    for i in range(2):
        assert _token(c, HTTP_X_FORWARDED_FOR=f"6.6.6.{i}, 198.51.100.1").status_code == 200
    assert _token(c, HTTP_X_FORWARDED_FOR="7.7.7.7, 198.51.100.1").status_code == 429
    assert _token(c, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 200


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                       "LOCATION": "redis://127.0.0.1:1/0",
                                       "OPTIONS": {"socket_connect_timeout": 0.5}}})
def test_with_redis_down_the_token_endpoint_still_answers(clinician, caplog):
    with caplog.at_level(logging.WARNING, logger="ipm.throttling"):
        r = _token(Client())
        assert r.status_code == 200 and r.json()["token"]
        assert _token(Client(), password="wrong").status_code == 401
    assert any("cache unavailable" in m for m in caplog.messages)


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3, IPM_LOGIN_ADDRESS_FAILURE_LIMIT=6)
def test_one_address_trying_many_usernames_is_locked_out(clinician):
    c = Client(REMOTE_ADDR="203.0.113.50")
    # One try per username, so the per-username limit never trips; the sixth try from the
    # address reaches the per-address limit.
    statuses = [c.post("/accounts/login/", {"username": f"user{i}", "password": "guess"}).status_code
                for i in range(6)]
    assert statuses == [200] * 5 + [429]
    r = c.post("/accounts/login/", {"username": "casey", "password": PASSWORD})
    assert r.status_code == 429
    assert _token(Client(REMOTE_ADDR="203.0.113.50")).status_code == 429
    # Other addresses log in as usual.
    assert Client(REMOTE_ADDR="203.0.113.51").post(
        "/accounts/login/", {"username": "casey", "password": PASSWORD}).status_code == 302


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3, IPM_LOGIN_ADDRESS_FAILURE_LIMIT=6)
def test_the_address_count_survives_a_successful_login(clinician):
    """An attacker holding one valid account cannot wipe the address's count by using it."""
    c = Client(REMOTE_ADDR="203.0.113.60")
    for i in range(5):
        c.post("/accounts/login/", {"username": f"user{i}", "password": "guess"})
    assert Client(REMOTE_ADDR="203.0.113.60").post(
        "/accounts/login/", {"username": "casey", "password": PASSWORD}).status_code == 302
    c.post("/accounts/login/", {"username": "user9", "password": "guess"})
    r = Client(REMOTE_ADDR="203.0.113.60").post(
        "/accounts/login/", {"username": "casey", "password": PASSWORD})
    assert r.status_code == 429


@override_settings(AXES_ENABLED=True)
def test_a_300_character_username_is_refused_with_400_on_the_login_page(db):
    r = Client().post("/accounts/login/", {"username": "u" * 300, "password": "x"})
    assert r.status_code == 400
    assert b"username" in r.content.lower()


@override_settings(AXES_ENABLED=True)
def test_a_300_character_username_does_not_break_the_admin_login(db):
    r = Client().post("/admin/login/", {"username": "u" * 300, "password": "x"})
    assert r.status_code == 200
    assert b"at most 150 characters" in r.content


@override_settings(AXES_ENABLED=True)
def test_a_300_character_username_is_refused_with_400_on_the_token_endpoint(db):
    r = _token(Client(), username="u" * 300, password="x")
    assert r.status_code == 400
    assert "username" in r.json()["errors"]


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_a_locked_out_token_request_answers_in_the_api_error_shape(clinician):
    c = Client()
    for _ in range(3):
        _token(c, password="wrong")
    r = _token(c)
    assert r.status_code == 429
    assert r.json()["message"] and "token" not in r.json()
