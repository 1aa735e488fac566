"""An administrator sets up two-factor authentication at first log-in, keeps the recovery
codes, and later (phone lost) logs in with one of them; a password alone gets no further
than the code page."""

import re

import pytest
from django.test import override_settings
from django_otp.oath import totp
from playwright.sync_api import expect

from ipm import roles
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def _log_in(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Log in").click()


@override_settings(IPM_ADMIN_2FA_REQUIRED=True)
def test_an_admin_enrols_and_later_logs_in_with_a_recovery_code(page, screenshot):
    make_user("ada", roles.ADMIN)
    _log_in(page, "ada")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/setup/"))
    secret = bytes.fromhex(page.get_by_test_id("totp-secret").inner_text())
    page.get_by_label("6-digit code").fill(f"{totp(secret):06d}")
    page.get_by_role("button", name="Turn on two-factor").click()
    codes = page.get_by_test_id("recovery-code").all_inner_texts()
    assert len(codes) == 10
    screenshot("two-factor-recovery-codes")
    page.get_by_role("link", name="I have saved my codes").click()
    page.get_by_role("button", name="Log out").click()

    # Password only: every page leads back to the code page.
    _log_in(page, "ada")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/verify/"))
    page.goto("/accounts/2fa/setup/")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/verify/"))
    page.goto("/audit/")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/verify/"))

    page.get_by_label("6-digit code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/audit/$"))
    expect(page.get_by_role("alert")).to_contain_text("9 left")
