"""Who reaches referrals: clinicians and coordinators do; admins (aggregates only) get 403
on referral pages and API; every role reads the service catalogue."""

import pytest

from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

PAGES = ["/referrals/", "/referrals/mdt/", "/referrals/new/"]


@pytest.fixture
def page_urls(referral):
    return PAGES + [f"/referrals/{referral.pk}/"]


@pytest.mark.parametrize("role_user", ["clinician", "coordinator"])
def test_clinicians_and_coordinators_reach_the_referral_pages(role_user, request, client,
                                                              page_urls):
    client.force_login(request.getfixturevalue(role_user))
    for url in page_urls:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role_user", ["clinician", "coordinator"])
def test_clinicians_and_coordinators_reach_the_referrals_api(role_user, request, referral):
    api = api_client_for(request.getfixturevalue(role_user))
    assert api.get("/api/referrals/").status_code == 200
    assert api.get(f"/api/referrals/{referral.pk}/").status_code == 200
    r = api.post("/api/referrals/", {"patient": referral.patient_id, "service": "yoga",
                                     "reason": "Deconditioning"})
    assert r.status_code == 201
    r = api.post(f"/api/referrals/{r.json()['id']}/transition/", {"to": "triaged"})
    assert r.status_code == 200


def test_an_admin_gets_403_on_the_referral_pages(client, admin_user, page_urls):
    client.force_login(admin_user)
    for url in page_urls:
        assert client.get(url).status_code == 403, url


def test_an_admin_gets_403_on_the_referrals_api(admin_api, referral):
    assert admin_api.get("/api/referrals/").status_code == 403
    assert admin_api.get(f"/api/referrals/{referral.pk}/").status_code == 403
    r = admin_api.post("/api/referrals/", {"patient": referral.patient_id, "service": "yoga",
                                           "reason": "x"})
    assert r.status_code == 403
    r = admin_api.post(f"/api/referrals/{referral.pk}/transition/", {"to": "triaged"})
    assert r.status_code == 403
    r = admin_api.post(f"/api/referrals/{referral.pk}/assign/", {"assignee": None},
                       format="json")
    assert r.status_code == 403
    referral.refresh_from_db()
    assert referral.status == "new"


def test_an_admin_gets_403_on_referral_actions(client, admin_user, referral):
    client.force_login(admin_user)
    assert client.post(f"/referrals/{referral.pk}/transition/", {"to": "triaged"}).status_code == 403
    assert client.post("/referrals/bulk/", {"ids": [referral.pk], "action": "triage"}).status_code == 403
    referral.refresh_from_db()
    assert referral.status == "new"


def test_a_user_without_a_role_gets_403(client, nobody, referral):
    client.force_login(nobody)
    assert client.get("/referrals/").status_code == 403
    assert api_client_for(nobody).get("/api/referrals/").status_code == 403
    assert api_client_for(nobody).get("/api/services/").status_code == 403


def test_every_role_reads_the_services(api, coordinator_api, admin_api):
    for client in (api, coordinator_api, admin_api):
        assert client.get("/api/services/").status_code == 200


def test_anonymous_visitors_are_sent_to_log_in_and_the_api_answers_401(client, db):
    r = client.get("/referrals/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
    assert client.get("/api/referrals/").status_code == 401


def test_only_coordinators_plan_mdt_meetings(client, clinician):
    client.force_login(clinician)
    r = client.post("/referrals/mdt/new/", {"date": "2030-01-07", "time": "13:00",
                                            "duration_minutes": 60, "mode": "virtual",
                                            "video_link": "https://meet.example.org/x"})
    assert r.status_code == 403
