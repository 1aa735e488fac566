"""The second factor holds: a password alone never reaches past the verify page, devices
change only from a verified session, recovery codes work once, and admins can reset another
person's second factor (audited)."""

import re

import pytest
from django.test import Client, override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from ipm.models import AuditEvent

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-1"


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _login(username: str) -> Client:
    c = Client()
    assert c.post("/accounts/login/", {"username": username, "password": PASSWORD}).status_code == 302
    return c


def _enrol(client: Client, user) -> tuple[TOTPDevice, list[str]]:
    """First enrolment through the setup page; returns the device and the recovery codes
    shown (once) on the confirmation page."""
    client.get("/accounts/2fa/setup/")
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    r = client.post("/accounts/2fa/setup/", {"token": _code(device)})
    assert r.status_code == 200, r.content
    device.refresh_from_db()
    assert device.confirmed
    codes = re.findall(r'data-testid="recovery-code">([^<]+)<', r.content.decode())
    assert len(codes) == 10
    return device, codes


def _fresh_step(device: TOTPDevice) -> None:
    """django-otp refuses a code from a step already used; tests reuse the current step."""
    device.refresh_from_db()
    device.last_t = -1
    device.save(update_fields=["last_t"])


@override_settings(IPM_ADMIN_2FA_REQUIRED=True)
def test_it_refuses_a_new_device_to_a_password_only_session(admin_user):
    """The attack: an enrolled admin's password alone must not enrol a fresh secret."""
    device, _ = _enrol(_login("ada"), admin_user)
    attacker = _login("ada")
    r = attacker.get("/accounts/2fa/setup/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/2fa/verify/")
    r = attacker.post("/accounts/2fa/setup/", {"token": "123456"})
    assert r.status_code == 302 and r["Location"].startswith("/accounts/2fa/verify/")
    assert TOTPDevice.objects.filter(user=admin_user).count() == 1
    assert attacker.get("/audit/")["Location"].startswith("/accounts/2fa/verify/")


def test_a_clinician_who_opted_in_is_held_at_the_verify_page_too(clinician):
    _enrol(_login("casey"), clinician)
    attacker = _login("casey")
    assert attacker.get("/accounts/2fa/setup/")["Location"].startswith("/accounts/2fa/verify/")
    assert TOTPDevice.objects.filter(user=clinician).count() == 1
    assert attacker.get("/patients/")["Location"].startswith("/accounts/2fa/verify/")
    assert attacker.get("/accounts/")["Location"].startswith("/accounts/2fa/verify/")


def test_an_unverified_session_does_not_reach_the_api_or_fhir(clinician):
    _enrol(_login("casey"), clinician)
    attacker = _login("casey")
    assert attacker.get("/api/patients/").status_code in (401, 403)
    assert attacker.get("/fhir/Patient").status_code in (401, 403)
    r = attacker.post("/api/patients/", {"mrn": "X-1", "given_name": "A", "family_name": "B",
                                         "birth_date": "1980-01-01"},
                      content_type="application/json")
    assert r.status_code in (401, 403)


def test_enrolling_a_device_ends_the_users_other_sessions(clinician):
    other = _login("casey")
    assert other.get("/patients/").status_code == 200
    _enrol(_login("casey"), clinician)
    r = other.get("/patients/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_a_verified_session_can_replace_its_device(clinician):
    c = _login("casey")
    old, _ = _enrol(c, clinician)
    c.get("/accounts/2fa/setup/")
    new = TOTPDevice.objects.get(user=clinician, confirmed=False)
    r = c.post("/accounts/2fa/setup/", {"token": _code(new)})
    assert r.status_code == 200
    assert list(TOTPDevice.objects.filter(user=clinician)) == [new]
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()


def test_a_recovery_code_verifies_once(clinician):
    _, codes = _enrol(_login("casey"), clinician)
    c = _login("casey")
    r = c.post("/accounts/2fa/verify/?next=/patients/", {"token": codes[0]})
    assert r.status_code == 302 and r["Location"] == "/patients/"
    assert c.get("/patients/").status_code == 200
    again = _login("casey")
    r = again.post("/accounts/2fa/verify/", {"token": codes[0]})
    assert r.status_code == 200 and b"did not match" in r.content
    assert again.get("/patients/").status_code == 302
    assert AuditEvent.objects.filter(action="2fa.recovery_code_used",
                                     object_id=str(clinician.pk)).count() == 1


def test_recovery_codes_are_not_stored_in_the_clear(clinician):
    from django_otp.plugins.otp_static.models import StaticToken

    _, codes = _enrol(_login("casey"), clinician)
    stored = set(StaticToken.objects.filter(device__user=clinician).values_list("token", flat=True))
    assert len(stored) == 10
    normalised = {c.replace("-", "").lower() for c in codes}
    assert not (stored & (set(codes) | normalised))


def test_a_verified_session_can_regenerate_recovery_codes(clinician):
    c = _login("casey")
    _, codes = _enrol(c, clinician)
    r = c.post("/accounts/2fa/recovery-codes/")
    assert r.status_code == 200
    fresh = re.findall(r'data-testid="recovery-code">([^<]+)<', r.content.decode())
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    assert _login("casey").post("/accounts/2fa/verify/", {"token": fresh[1]}).status_code == 302
    # The old codes no longer work.
    r = _login("casey").post("/accounts/2fa/verify/", {"token": codes[1]})
    assert r.status_code == 200 and b"did not match" in r.content


def test_nobody_removes_their_own_second_factor_without_a_verified_session(clinician):
    device, _ = _enrol(_login("casey"), clinician)
    attacker = _login("casey")
    for path in ("/accounts/2fa/disable/", "/accounts/2fa/recovery-codes/",
                 f"/accounts/2fa/reset/{clinician.pk}/"):
        r = attacker.post(path)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/2fa/verify/")
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()


def test_a_verified_session_can_turn_its_second_factor_off(clinician):
    c = _login("casey")
    _enrol(c, clinician)
    r = c.post("/accounts/2fa/disable/")
    assert r.status_code == 302
    assert not TOTPDevice.objects.filter(user=clinician).exists()
    assert AuditEvent.objects.filter(action="2fa.reset", object_id=str(clinician.pk)).exists()


@override_settings(IPM_ADMIN_2FA_REQUIRED=True)
def test_an_admin_resets_another_persons_second_factor(admin_user, clinician):
    from django_otp.plugins.otp_static.models import StaticDevice

    clinician_session = _login("casey")
    _enrol(clinician_session, clinician)
    admin = _login("ada")
    admin_device, _ = _enrol(admin, admin_user)
    r = admin.get(f"/accounts/2fa/reset/{clinician.pk}/")
    assert r.status_code == 200
    r = admin.post(f"/accounts/2fa/reset/{clinician.pk}/")
    assert r.status_code == 302
    assert not TOTPDevice.objects.filter(user=clinician).exists()
    assert not StaticDevice.objects.filter(user=clinician).exists()
    event = AuditEvent.objects.get(action="2fa.reset", object_id=str(clinician.pk))
    assert event.actor_id == admin_user.pk
    # The clinician's sessions end; the admin's own device is untouched.
    assert "/accounts/login/" in clinician_session.get("/patients/")["Location"]
    assert TOTPDevice.objects.filter(pk=admin_device.pk).exists()


def test_only_admins_reset_someone_elses_second_factor(clinician, coordinator):
    _enrol(_login("casey"), clinician)
    c = _login("corey")
    assert c.post(f"/accounts/2fa/reset/{clinician.pk}/").status_code == 403
    assert TOTPDevice.objects.filter(user=clinician).exists()


def test_the_reset_service_refuses_a_self_reset_without_a_verified_session(admin_user):
    from ipm.accounts import two_factor_reset
    from ipm.errors import DomainError

    TOTPDevice.objects.create(user=admin_user, name="default", confirmed=True)
    with pytest.raises(DomainError):
        two_factor_reset(user=admin_user, actor=admin_user)
    assert TOTPDevice.objects.filter(user=admin_user).exists()


def test_the_verify_page_rejects_a_wrong_code(clinician):
    device, _ = _enrol(_login("casey"), clinician)
    c = _login("casey")
    wrong = "000000" if _code(device) != "000000" else "111111"
    r = c.post("/accounts/2fa/verify/", {"token": wrong})
    assert r.status_code == 200 and b"did not match" in r.content
    assert c.get("/patients/").status_code == 302
