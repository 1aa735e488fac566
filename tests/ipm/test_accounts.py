"""API tokens are stored hashed and expire; a person lists and revokes their own; password
changes and deactivation (by any path, the Django admin included) end every token and
session; createstaff runs the password validators; demo_data refuses production."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from ipm import accounts
from ipm.errors import InvalidInput
from ipm.models import AuditEvent
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-1"


def _obtain(username="casey", password=PASSWORD) -> str:
    r = Client().post("/api/auth/token/", {"username": username, "password": password},
                      content_type="application/json")
    assert r.status_code == 200, r.content
    assert set(r.json()) == {"token", "expiry"} and r.json()["expiry"]
    return r.json()["token"]


def _get(path, token):
    return Client().get(path, HTTP_AUTHORIZATION=f"Token {token}")


def _logged_in(username="casey") -> Client:
    c = Client()
    assert c.post("/accounts/login/", {"username": username, "password": PASSWORD}).status_code == 302
    assert c.get("/").status_code == 200
    return c


def test_it_stores_only_a_digest_of_the_token(clinician):
    token = _obtain()
    row = AuthToken.objects.get(user=clinician)
    assert token not in (row.digest, row.token_key)
    assert row.token_key == token[:len(row.token_key)] and len(row.token_key) < 20
    assert row.expiry > timezone.now()


def test_an_expired_token_no_longer_authenticates(clinician):
    token = _obtain()
    AuthToken.objects.filter(user=clinician).update(expiry=timezone.now() - timedelta(seconds=1))
    r = _get("/api/instruments/", token)
    assert r.status_code == 401 and r["WWW-Authenticate"] == "Token"
    assert not AuthToken.objects.filter(user=clinician).exists()


def test_a_person_lists_and_revokes_their_own_tokens(clinician, coordinator):
    first, second = _obtain(), _obtain()
    theirs = _obtain("corey")
    r = _get("/api/auth/tokens/", first)
    assert r.status_code == 200
    rows = r.json()
    assert len(rows) == 2 and all(theirs[:8] not in row["token_key"] for row in rows)
    assert [row["current"] for row in rows if first.startswith(row["token_key"])] == [True]
    assert all(first not in str(row) and second not in str(row) for row in rows)
    key = next(row["token_key"] for row in rows if second.startswith(row["token_key"]))
    c = Client()
    r = c.delete(f"/api/auth/tokens/{key}/", HTTP_AUTHORIZATION=f"Token {first}")
    assert r.status_code == 204
    assert _get("/api/instruments/", second).status_code == 401
    assert _get("/api/instruments/", first).status_code == 200
    # Someone else's token is not found, and stays valid.
    r = c.delete(f"/api/auth/tokens/{theirs[:15]}/", HTTP_AUTHORIZATION=f"Token {first}")
    assert r.status_code == 404 and r.json()["message"]
    assert _get("/api/instruments/", theirs).status_code == 200
    assert AuditEvent.objects.filter(action="api_token.revoked", object_id=key).exists()


def test_the_account_page_lists_and_revokes_tokens(clinician):
    token = _obtain()
    c = _logged_in()
    r = c.get("/accounts/")
    assert r.status_code == 200 and token[:8].encode() in r.content
    assert token.encode() not in r.content
    r = c.post(f"/accounts/tokens/{token[:15]}/revoke/")
    assert r.status_code == 302
    assert _get("/api/instruments/", token).status_code == 401


def test_the_token_endpoints_are_in_the_openapi_schema(api):
    schema = api.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert "get" in paths["/api/auth/tokens/"]
    assert "delete" in paths["/api/auth/tokens/{token_key}/"]
    assert "expiry" in schema["components"]["schemas"]["TokenResponse"]["properties"]
    assert "Token" in schema["components"]["securitySchemes"]["tokenAuth"]["description"]


def test_a_password_change_ends_every_token_and_session(clinician):
    token = _obtain()
    session = _logged_in()
    accounts.user_password_set(user=clinician, password="a-new-long-passphrase-9")
    assert _get("/api/instruments/", token).status_code == 401
    assert "/accounts/login/" in session.get("/patients/")["Location"]
    assert not AuthToken.objects.filter(user=clinician).exists()
    assert _obtain(password="a-new-long-passphrase-9")


def test_a_password_change_runs_the_validators_and_changes_nothing_when_refused(clinician):
    token = _obtain()
    with pytest.raises(InvalidInput) as exc:
        accounts.user_password_set(user=clinician, password="123")
    assert "password" in exc.value.errors
    clinician.refresh_from_db()
    assert clinician.check_password(PASSWORD)
    assert _get("/api/instruments/", token).status_code == 200


def test_deactivation_ends_every_token_and_session(clinician):
    token = _obtain()
    session = _logged_in()
    accounts.user_deactivate(user=clinician)
    clinician.refresh_from_db()
    assert clinician.is_active is False
    assert _get("/api/instruments/", token).status_code == 401
    assert "/accounts/login/" in session.get("/patients/")["Location"]
    assert not AuthToken.objects.filter(user=clinician).exists()
    assert not [s for s in Session.objects.all()
                if s.get_decoded().get("_auth_user_id") == str(clinician.pk)]


def _superuser_client():
    from django.contrib.auth.models import User

    User.objects.create_superuser("root", "root@example.org", PASSWORD)
    c = Client()
    c.login(username="root", password=PASSWORD)
    return c


def test_deactivating_in_the_django_admin_ends_tokens_and_sessions(clinician):
    token = _obtain()
    session = _logged_in()
    admin = _superuser_client()
    r = admin.get(f"/admin/auth/user/{clinician.pk}/change/")
    form = r.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("password",)}
    data.update({"username": "casey", "is_active": "", "groups": [g.pk for g in clinician.groups.all()],
                 "date_joined_0": clinician.date_joined.strftime("%Y-%m-%d"),
                 "date_joined_1": clinician.date_joined.strftime("%H:%M:%S"),
                 "last_login_0": "", "last_login_1": "", "user_permissions": []})
    data.pop("is_active")
    data.pop("date_joined", None)
    data.pop("last_login", None)
    r = admin.post(f"/admin/auth/user/{clinician.pk}/change/", data)
    assert r.status_code == 302, r.context["adminform"].form.errors
    clinician.refresh_from_db()
    assert clinician.is_active is False
    assert _get("/api/instruments/", token).status_code == 401
    assert "/accounts/login/" in session.get("/patients/")["Location"]
    assert AuditEvent.objects.filter(action="user.deactivated", object_id=str(clinician.pk)).exists()


def test_a_password_set_in_the_django_admin_ends_tokens_and_sessions(clinician):
    token = _obtain()
    session = _logged_in()
    admin = _superuser_client()
    r = admin.post(f"/admin/auth/user/{clinician.pk}/password/",
                   {"password1": "another-long-passphrase-7", "password2": "another-long-passphrase-7",
                    "usable_password": "true"})
    assert r.status_code == 302
    clinician.refresh_from_db()
    assert clinician.check_password("another-long-passphrase-7")
    assert _get("/api/instruments/", token).status_code == 401
    assert "/accounts/login/" in session.get("/patients/")["Location"]
    # The admin who did it stays logged in.
    assert admin.get("/admin/").status_code == 200


def test_createstaff_refuses_a_weak_password_with_the_validators_messages(db):
    from django.contrib.auth.models import User

    with pytest.raises(CommandError) as exc:
        call_command("createstaff", "weak", "--role", "clinician", "--password", "123")
    assert "too short" in str(exc.value) and "entirely numeric" in str(exc.value)
    assert not User.objects.filter(username="weak").exists()


def test_createstaff_sets_a_good_password(db):
    from django.contrib.auth.models import User

    call_command("createstaff", "dana", "--role", "clinician", "--password", "plenty-long-phrase-4")
    assert User.objects.get(username="dana").check_password("plenty-long-phrase-4")


def test_demo_data_refuses_production_settings(settings):
    from django.contrib.auth.models import User

    settings.IPM_PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("demo_data")
    assert not User.objects.exists()


def test_the_production_settings_say_production():
    from ipm.settings import base

    source = (base.BASE_DIR / "ipm" / "settings" / "production.py").read_text()
    assert "IPM_PRODUCTION = True" in source and base.IPM_PRODUCTION is False


def test_make_user_still_works_for_the_cast(db):
    assert make_user("extra").check_password(PASSWORD)
