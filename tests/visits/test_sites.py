"""Group series belong to a site (docs/product.md §6): whoever creates one chooses among their
own sites (or gets their one site), in the API and on the page alike, and the series is then
seen only by the staff of its site."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ipm import roles
from patients.models import Program, Site
from tests.conftest import api_client_for, make_user
from visits.models import GroupSeries

pytestmark = pytest.mark.django_db


@pytest.fixture
def main(db):
    return Program.default().sites.get(code="main")


@pytest.fixture
def north(db):
    return Site.objects.create(program=Program.default(), name="North clinic", code="north")


@pytest.fixture
def both(main, north, group_service):
    """A coordinator who runs groups at both clinics."""
    user = make_user("bo", roles.COORDINATOR)
    user.sites.set([main, north])
    return user


@pytest.fixture
def nina(north):
    """A coordinator at the north clinic only."""
    user = make_user("nina", roles.COORDINATOR)
    user.sites.set([north])
    return user


def _body(**kw):
    start = timezone.now() + timedelta(days=10)
    return {"name": "Pain school", "service": "group_programme", "capacity": 8,
            "sessions": [{"starts_at": (start + timedelta(weeks=i)).isoformat(),
                          "duration_minutes": 90} for i in range(2)], **kw}


def _create(user, **kw):
    return api_client_for(user).post("/api/group-series/", _body(**kw), format="json")


def _form(**kw):
    from referrals.models import Service

    return {"name": "Pain school", "service": Service.objects.get(code="group_programme").pk,
            "capacity": 8, "first_start": "2031-03-04T10:00", "weeks": 2,
            "duration_minutes": 90, **kw}


# --- API --------------------------------------------------------------------------------------

def test_it_creates_a_series_at_the_chosen_site(both, north):
    r = _create(both, site=north.pk)
    assert r.status_code == 201, r.json()
    assert r.json()["site"] == north.pk
    assert GroupSeries.objects.get(pk=r.json()["id"]).site == north


def test_it_refuses_a_site_you_do_not_work_at(coordinator, north):
    r = _create(coordinator, site=north.pk)  # corey works at main only
    assert r.status_code == 400
    assert "site" in r.json()["errors"]
    assert not GroupSeries.objects.exists()


def test_it_asks_a_two_site_coordinator_which_site(both):
    r = _create(both)
    assert r.status_code == 400
    assert "site" in r.json()["errors"]
    assert "Choose the site" in r.json()["message"]
    assert not GroupSeries.objects.exists()


def test_a_one_site_coordinator_need_not_choose(coordinator, main, north):
    r = _create(coordinator)
    assert r.status_code == 201, r.json()
    assert r.json()["site"] == main.pk


def test_the_series_is_invisible_to_staff_of_the_other_site(both, nina, coordinator, north):
    pk = _create(both, site=north.pk).json()["id"]
    theirs, ours = api_client_for(nina), api_client_for(coordinator)
    assert [s["id"] for s in theirs.get("/api/group-series/").json()["results"]] == [pk]
    assert theirs.get(f"/api/group-series/{pk}/").status_code == 200
    assert ours.get("/api/group-series/").json()["results"] == []
    assert ours.get(f"/api/group-series/{pk}/").status_code == 404


def test_the_list_filters_by_site(both, main, north):
    at_main = _create(both, site=main.pk).json()["id"]
    at_north = _create(both, site=north.pk).json()["id"]
    api = api_client_for(both)

    def ids(query=""):
        return {s["id"] for s in api.get(f"/api/group-series/{query}").json()["results"]}

    assert ids() == {at_main, at_north}
    assert ids(f"?site={north.pk}") == {at_north}
    assert ids(f"?site={main.pk}") == {at_main}
    r = api.get("/api/group-series/?site=")
    assert r.status_code == 400 and "site" in r.json()["errors"]


def test_the_schema_documents_the_site(api):
    schema = api.get("/api/schema/?format=json").json()
    site = schema["components"]["schemas"]["SeriesInputRequest"]["properties"]["site"]
    assert site["description"] == "Site id; defaults to yours when you work at one site."
    assert "site" in schema["components"]["schemas"]["SeriesOutput"]["properties"]
    listing = schema["paths"]["/api/group-series/"]["get"]["parameters"]
    assert "site" in {p["name"] for p in listing}


def test_the_service_itself_refuses_a_site_you_do_not_work_at(make_series, north):
    from ipm.errors import InvalidInput

    with pytest.raises(InvalidInput) as exc:  # whoever calls it: page, API, a script
        make_series(site=north)  # made by corey, who works at main only
    assert "site" in exc.value.errors
    assert not GroupSeries.objects.exists()


# --- Pages ------------------------------------------------------------------------------------

def test_the_form_creates_a_series_at_the_chosen_site(client, both, north):
    client.force_login(both)
    page = client.get("/groups/new/").content.decode()
    assert 'name="site"' in page and "North clinic" in page and "Choose a site" in page
    r = client.post("/groups/new/", _form(site=north.pk))
    series = GroupSeries.objects.get()
    assert r.status_code == 302 and r.url == f"/groups/{series.pk}/"
    assert series.site == north
    assert "North clinic" in client.get(r.url).content.decode()


def test_the_form_shows_the_missing_site_on_the_field(client, both):
    client.force_login(both)
    r = client.post("/groups/new/", _form())
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="error_1_id_site"' in html and "Choose the site" in html
    assert not GroupSeries.objects.exists()


def test_the_form_refuses_a_site_you_do_not_work_at(client, coordinator, north):
    client.force_login(coordinator)
    r = client.post("/groups/new/", _form(site=north.pk))
    assert r.status_code == 200
    assert not GroupSeries.objects.exists()


def test_a_one_site_coordinator_sees_no_site_choice(client, coordinator, main, north):
    client.force_login(coordinator)
    html = client.get("/groups/new/").content.decode()
    assert f'type="hidden" name="site" value="{main.pk}"' in html
    assert "North clinic" not in html
    client.post("/groups/new/", _form(site=main.pk))
    assert GroupSeries.objects.get().site == main


def test_the_series_pages_are_404_to_staff_of_the_other_site(client, both, nina, coordinator,
                                                              north):
    pk = _create(both, site=north.pk).json()["id"]
    client.force_login(coordinator)
    assert "Pain school" not in client.get("/groups/").content.decode()
    assert client.get(f"/groups/{pk}/").status_code == 404
    client.force_login(nina)
    assert "Pain school" in client.get("/groups/").content.decode()
    assert client.get(f"/groups/{pk}/").status_code == 200


def test_the_list_page_filters_by_site(client, both, main, north):
    _create(both, site=main.pk, name="Main school")
    _create(both, site=north.pk, name="North school")
    client.force_login(both)
    everything = client.get("/groups/").content.decode()
    assert "Main school" in everything and "North school" in everything
    assert 'id="f-site"' in everything
    north_only = client.get(f"/groups/?site={north.pk}").content.decode()
    assert "North school" in north_only and "Main school" not in north_only  # sidebar too
