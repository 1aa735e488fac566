import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/patients/", "/audit/", "/referrals/", "/groups/",
                                  "/metrics/", "/reminders/"])
def test_it_sends_anonymous_visitors_to_login(path):
    r = Client().get(path)
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path", ["/api/patients/", "/api/services/", "/api/referrals/",
                                  "/api/instruments/", "/api/alerts/"])
def test_it_answers_anonymous_api_calls_with_401_json(path):
    r = Client().get(path)
    assert r.status_code == 401
    assert "message" in r.json()


def test_it_serves_the_login_page_and_healthz_without_login():
    assert Client().get("/accounts/login/").status_code == 200
    assert Client().get("/healthz").status_code in (200, 503)


def test_it_issues_a_token_that_authenticates_api_calls(clinician):
    c = Client()
    r = c.post("/api/auth/token/", {"username": "casey", "password": "pw-for-tests-1"},
               content_type="application/json")
    assert r.status_code == 200
    token = r.json()["token"]
    r = c.get("/api/instruments/", HTTP_AUTHORIZATION=f"Token {token}")
    assert r.status_code == 200


def test_it_refuses_a_token_for_a_wrong_password(clinician):
    r = Client().post("/api/auth/token/", {"username": "casey", "password": "nope"},
                      content_type="application/json")
    assert r.status_code == 401
    assert r.json()["message"] and "token" not in r.json()
    r = Client().post("/api/auth/token/", {"username": "casey"}, content_type="application/json")
    assert r.status_code == 400 and "password" in r.json()["errors"]


def test_unknown_api_paths_are_json_404s(api):
    r = api.get("/api/does-not-exist/")
    assert r.status_code == 404 and r.json()["message"] == "Not found."


def test_a_missing_trailing_slash_still_reaches_the_api(api):
    r = api.post("/api/patients", {"mrn": "NS-1", "given_name": "No", "family_name": "Slash",
                                   "birth_date": "1980-01-01"}, format="json")
    assert r.status_code == 201
    assert api.get("/api/patients").json()["count"] == 1


def test_it_logs_a_user_in_through_the_login_page(clinician):
    c = Client()
    r = c.post("/accounts/login/", {"username": "casey", "password": "pw-for-tests-1"})
    assert r.status_code == 302
    assert c.get("/").status_code == 200


def test_it_serves_the_openapi_schema_and_docs(api):
    r = api.get("/api/schema/")
    assert r.status_code == 200
    assert b"/api/patients/" in r.content
    assert api.get("/api/docs/").status_code == 200
