"""The integration role (service accounts, docs/product.md §1): can log in for a token and read
nothing: 403 on every page and every read API."""

import pytest
from django.core.management import call_command
from django.test import Client

from tests.conftest import make_user, token_for

pytestmark = pytest.mark.django_db


def test_it_refuses_every_page_and_read_api_to_a_service_account(clinician):
    robot = make_user("gp-system", "integration")
    pages = Client()
    pages.force_login(robot)
    for path in ("/", "/patients/", "/referrals/", "/alerts/", "/metrics/", "/team/",
                 "/worklist/", "/groups/"):
        assert pages.get(path).status_code == 403, path
    api = Client(HTTP_AUTHORIZATION=f"Token {token_for(robot)}")
    for path in ("/api/patients/", "/api/referrals/", "/api/services/", "/api/instruments/",
                 "/api/alerts/", "/api/reminders/", "/api/program/", "/api/staff/",
                 "/fhir/Patient", "/fhir/ServiceRequest"):
        assert api.get(path).status_code == 403, path


def test_it_keeps_people_with_another_role_too(clinician):
    both = make_user("both", "integration", "clinician")
    c = Client()
    c.force_login(both)
    assert c.get("/patients/").status_code == 200


def test_createstaff_accepts_the_integration_role(db):
    call_command("createstaff", "referrer", "--role", "integration", "--password",
                 "a-Long-pass-phrase-42")
    from django.contrib.auth.models import User

    assert list(User.objects.get(username="referrer").groups.values_list("name", flat=True)) == [
        "integration"]
