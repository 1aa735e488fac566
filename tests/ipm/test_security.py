import time

import pytest
from django.test import Client, override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_it_locks_out_after_repeated_failed_logins(clinician):
    c = Client()
    for _ in range(3):
        r = c.post("/accounts/login/", {"username": "casey", "password": "wrong"})
    r = c.post("/accounts/login/", {"username": "casey", "password": "pw-for-tests-1"})
    assert r.status_code == 429
    assert b"Too many failed log-in attempts" in r.content
    # Another address is not locked out.
    r = Client(REMOTE_ADDR="198.51.100.9").post(
        "/accounts/login/", {"username": "casey", "password": "pw-for-tests-1"})
    assert r.status_code == 302


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_the_token_endpoint_is_locked_out_too(clinician):
    c = Client()
    for _ in range(3):
        c.post("/api/auth/token/", {"username": "casey", "password": "wrong"})
    r = c.post("/api/auth/token/", {"username": "casey", "password": "pw-for-tests-1"})
    assert r.status_code in (403, 429)
    assert "token" not in r.json()


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@override_settings(IPM_ADMIN_2FA_REQUIRED=True)
def test_admins_must_enrol_and_use_a_second_factor(admin_user):
    c = Client()
    assert c.post("/accounts/login/", {"username": "ada", "password": "pw-for-tests-1"}).status_code == 302
    r = c.get("/metrics/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/2fa/setup/")
    c.get("/accounts/2fa/setup/")
    device = TOTPDevice.objects.get(user=admin_user)
    r = c.post("/accounts/2fa/setup/", {"token": "000000" if _code(device) != "000000" else "111111"})
    assert b"did not match" in r.content
    time.sleep(1.1)  # django-otp throttles the next try after a failure
    r = c.post("/accounts/2fa/setup/?next=/audit/", {"token": _code(device)})
    # Enrolment shows the recovery codes once, then leads on to where the admin was going.
    assert r.status_code == 200 and b'data-testid="recovery-code"' in r.content
    assert b'href="/audit/"' in r.content
    assert c.get("/audit/").status_code == 200
    # A new session must verify with a code.
    c2 = Client()
    c2.post("/accounts/login/", {"username": "ada", "password": "pw-for-tests-1"})
    r = c2.get("/audit/")
    assert r["Location"].startswith("/accounts/2fa/verify/")
    device.refresh_from_db()
    device.last_t = -1  # allow the same 30 s step again (django-otp refuses token reuse)
    device.save()
    assert c2.post("/accounts/2fa/verify/?next=/audit/", {"token": _code(device)}).status_code == 302
    assert c2.get("/audit/").status_code == 200


@override_settings(IPM_ADMIN_2FA_REQUIRED=True)
def test_two_factor_is_optional_for_clinicians(clinician):
    c = Client()
    c.post("/accounts/login/", {"username": "casey", "password": "pw-for-tests-1"})
    assert c.get("/patients/").status_code == 200


def test_sessions_expire_after_inactivity(clinician, settings):
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE <= 60 * 60
    c = Client()
    c.force_login(clinician)
    session = c.session
    session.set_expiry(-1)  # idle past the limit
    session.save()
    r = c.get("/patients/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_pages_carry_security_headers(clinician):
    c = Client()
    c.force_login(clinician)
    r = c.get("/")
    csp = r["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert r["X-Frame-Options"] == "DENY"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Referrer-Policy"] == "same-origin"


def test_passwords_are_hashed_with_argon2_in_production_settings():
    from ipm.settings import base

    assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
