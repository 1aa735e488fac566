"""The queue at program scale: a capped count (page and API) instead of counting the whole
waiting queue, and row actions rendered once per page, not an assignee list and a set of
forms in every row."""

import re

import pytest

from ipm import roles
from ipm.pagination import CappedPaginator
from referrals.models import Referral
from tests.conftest import api_client_for, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def coord_client(client, coordinator):
    client.force_login(coordinator)
    return client


@pytest.fixture
def many(make_referral, make_patient):
    return [make_referral(make_patient(f"P{i}", "Queue"), days_ago=i) for i in range(30)]


def test_the_assignee_list_and_the_forms_are_on_the_page_once(coord_client, many):
    staff = [make_user(f"staff{i}", roles.CLINICIAN) for i in range(12)]
    small = coord_client.get("/referrals/?page_size=5").content.decode()
    html = coord_client.get("/referrals/?page_size=30").content.decode()
    dialog = html[html.index('id="assign-dialog"'):]
    for person in staff:
        # In the queue's filter and in the one assign dialog; not in any row.
        assert dialog.count(f'<option value="{person.pk}"') == 1
        assert html.count(f'<option value="{person.pk}"') == small.count(
            f'<option value="{person.pk}"') <= 2
    # One CSRF token per shared form (bulk, row actions, two dialogs, log-out), none per row.
    assert html.count('name="csrfmiddlewaretoken"') == small.count('name="csrfmiddlewaretoken"') <= 5
    # Each row is a row, not a form: under 2 kB apiece with a dozen possible assignees.
    assert (len(html) - len(small)) / 25 < 2000
    assert 'id="assign-dialog"' in html and 'id="reason-dialog"' in html
    assert "<script>" not in html and "onclick" not in html  # CSP: the static file does it


def test_a_row_button_works_through_the_shared_form_without_javascript(coord_client, many):
    referral = many[0]
    r = coord_client.post(f"/referrals/{referral.pk}/transition/?from=new",
                          {"to": "triaged", "row": "queue", "next": "/referrals/"})
    assert r.status_code == 302 and r["Location"] == "/referrals/"
    referral.refresh_from_db()
    assert referral.status == "triaged"
    # The row's state in the URL guards against acting on a stale row.
    r = coord_client.post(f"/referrals/{referral.pk}/transition/?from=new",
                          {"to": "triaged", "row": "queue", "next": "/referrals/"}, follow=True)
    assert "someone else changed it first" in r.content.decode()


def test_the_queue_page_counts_up_to_the_cap(coord_client, many, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 20)
    html = coord_client.get("/referrals/?page_size=10").content.decode()
    assert "20+ referrals" in html and "Page 1</span>" in html
    last = coord_client.get("/referrals/?page_size=10&page=3").content.decode()
    assert len(re.findall(r'<tr id="referral-', last)) == 10 and ">Next<" not in last


def test_the_queue_api_counts_up_to_the_cap_and_pages_on(coordinator, many, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 20)
    api = api_client_for(coordinator)
    body = api.get("/api/referrals/?page_size=10&page=2").json()
    assert body["count"] == 20 and "page=3" in body["next"]
    last = api.get(body["next"]).json()
    assert len(last["results"]) == 10 and last["next"] is None
    seen = {r["id"] for p in (1, 2, 3)
            for r in api.get(f"/api/referrals/?page_size=10&page={p}").json()["results"]}
    assert seen == set(Referral.objects.values_list("pk", flat=True))


def test_the_capped_count_reads_ids_only(coordinator, many):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from referrals import selectors

    with CaptureQueriesContext(connection) as ctx:
        assert CappedPaginator(selectors.referral_queue(user=coordinator, status="waiting"),
                               25).count == 30
    (sql,) = [q["sql"] for q in ctx.captured_queries if "COUNT" in q["sql"]]
    assert "LIMIT 1001" in sql and "referrals_service" not in sql and "ORDER BY" not in sql
