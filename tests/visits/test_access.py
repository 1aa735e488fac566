"""Who may use group visits: coordinators and clinicians; admins see aggregates only
(403); a logged-in user without a role gets 403; anonymous users log in first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting(make_series, make_patient, enrol):
    series = make_series(capacity=2, start=timezone.now() - timedelta(hours=1), n=2)
    patient = make_patient()
    enrol(series, patient)
    session = series.sessions.order_by("starts_at").first()
    return series, session, patient


def _pages(series, session):
    return ["/groups/", "/groups/?show=ended", "/groups/agenda/", "/groups/new/",
            "/groups/new/preview/?weeks=2&duration_minutes=60&first_start=2031-01-01T10:00",
            f"/groups/{series.pk}/", f"/groups/{series.pk}/patients/?q=pe",
            f"/groups/{series.pk}/billing.csv", f"/groups/sessions/{session.pk}/",
            f"/groups/sessions/{session.pk}/edit/"]


def _posts(series, session, patient):
    return [(f"/groups/{series.pk}/enrol/", {"patient": patient.pk}),
            (f"/groups/{series.pk}/withdraw/", {"patient": patient.pk}),
            (f"/groups/{series.pk}/capacity/", {"capacity": 3}),
            (f"/groups/{series.pk}/sessions/add/", {}),
            (f"/groups/sessions/{session.pk}/attendance/", {"patient": patient.pk,
                                                            "status": "present"}),
            (f"/groups/sessions/{session.pk}/cancel/", {})]


@pytest.mark.parametrize("who", ["coordinator", "clinician"])
def test_coordinators_and_clinicians_reach_every_page(client, request, setting, who):
    series, session, _ = setting
    client.force_login(request.getfixturevalue(who))
    for url in _pages(series, session):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("who", ["admin_user", "nobody"])
def test_admins_and_people_without_a_role_get_403_on_pages(client, request, setting, who):
    series, session, patient = setting
    client.force_login(request.getfixturevalue(who))
    for url in _pages(series, session):
        assert client.get(url).status_code == 403, url
    for url, data in _posts(series, session, patient):
        assert client.post(url, data).status_code == 403, url
    assert series.enrolments.get(patient=patient).status == "enrolled"


def test_anonymous_users_are_sent_to_log_in(client, setting):
    series, session, _ = setting
    for url in _pages(series, session):
        r = client.get(url)
        assert r.status_code == 302 and "/accounts/login/" in r.url, url


def _api_calls(series, session, patient):
    return [("get", "/api/group-series/", None),
            ("get", f"/api/group-series/{series.pk}/", None),
            ("post", "/api/group-series/", {"name": "X", "service": "group_programme",
                                            "capacity": 2}),
            ("post", f"/api/group-series/{series.pk}/enrol/", {"patient": patient.pk}),
            ("post", f"/api/group-series/{series.pk}/withdraw/", {"patient": patient.pk}),
            ("post", f"/api/group-sessions/{session.pk}/attendance/",
             {"patient": patient.pk, "status": "present"}),
            ("post", f"/api/group-sessions/{session.pk}/cancel/", None)]


@pytest.mark.parametrize("who", ["coordinator", "clinician"])
def test_coordinators_and_clinicians_use_the_api(request, setting, make_patient, who):
    series, session, patient = setting
    api = api_client_for(request.getfixturevalue(who))
    assert api.get("/api/group-series/").status_code == 200
    assert api.get(f"/api/group-series/{series.pk}/").status_code == 200
    assert api.post("/api/group-series/", {"name": "X", "service": "group_programme",
                                           "capacity": 2}, format="json").status_code == 201
    newcomer = make_patient()
    assert api.post(f"/api/group-series/{series.pk}/enrol/", {"patient": newcomer.pk},
                    format="json").status_code == 201
    assert api.post(f"/api/group-sessions/{session.pk}/attendance/",
                    {"patient": patient.pk, "status": "present"},
                    format="json").status_code == 200
    assert api.post(f"/api/group-series/{series.pk}/withdraw/", {"patient": newcomer.pk},
                    format="json").status_code == 200
    other = series.sessions.order_by("starts_at").last()
    assert api.post(f"/api/group-sessions/{other.pk}/cancel/").status_code == 200


@pytest.mark.parametrize("who", ["admin_user", "nobody"])
def test_admins_and_people_without_a_role_get_403_from_the_api(request, setting, who):
    series, session, patient = setting
    api = api_client_for(request.getfixturevalue(who))
    for method, url, data in _api_calls(series, session, patient):
        r = getattr(api, method)(url, data, format="json")
        assert r.status_code == 403, url
        assert r.json()["message"]
    session.refresh_from_db()
    assert session.status == "scheduled"


def test_the_api_without_a_token_is_401(setting):
    from rest_framework.test import APIClient

    series, session, patient = setting
    for method, url, data in _api_calls(series, session, patient):
        assert getattr(APIClient(), method)(url, data, format="json").status_code == 401, url
