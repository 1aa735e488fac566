"""GET /api/metrics/program/: every metric of docs/product.md §3.6 for admins, 400s naming the field."""

import datetime as dt

import pytest
from django.utils import timezone

from metrics import definitions, services
from metrics.definitions import Scope
from metrics.models import MetricSnapshot

from .conftest import FEB_END, FEB_START

URL = "/api/metrics/program/"
FEB = {"from": "2025-02-01", "to": "2025-02-28"}


def test_it_returns_every_metric_with_its_definition_to_admins(admin_api, feb_program):
    r = admin_api.get(URL, FEB)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"from", "to", "service", "site", "definitions", "computed_at", "source",
                         *definitions.METRICS}
    assert (body["from"], body["to"], body["service"]) == ("2025-02-01", "2025-02-28", None)
    assert body["source"] == "live"
    assert body["definitions"] == definitions.definitions()
    assert body["responders"]["peg"] == 50.0
    assert body["new_intakes"] == 3
    assert body["risk_mix"] == {"low": 1, "medium": 1, "high": 1}
    assert body["median_days_referral_to_triage"] == 3.0  # 2 and 4 days
    assert body["nps"] == 0.0                            # one promoter, one detractor
    assert body["median_hours_to_acknowledge"] == 6.0
    assert body["referrals_by_state"]["triaged"] == 2
    assert set(body["responders_by_risk_group"]) == {"low", "medium", "high"}


def test_it_filters_by_service(admin_api, feb_program):
    body = admin_api.get(URL, {**FEB, "service": "physio"}).json()
    assert body["service"] == "physio"
    assert body["referrals_by_state"]["triaged"] == 2
    assert body["referrals_by_state"]["new"] == 0          # the psychology referral is left out
    assert body["responders"]["peg"] == 50.0               # A and B were referred to physio: A
    body = admin_api.get(URL, {**FEB, "service": "psychology"}).json()
    assert body["referrals_by_state"]["new"] == 1


@pytest.mark.parametrize("who", ["api", "coordinator_api"])
def test_it_refuses_clinicians_and_coordinators(request, who):
    r = request.getfixturevalue(who).get(URL, FEB)
    assert r.status_code == 403
    assert r.json()["message"]


def test_it_requires_authentication(client, db):
    assert client.get(URL).status_code in (401, 403)


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2025-13-01", "to": "2025-02-28"}, "from"),
    ({"from": "01/02/2025", "to": "2025-02-28"}, "from"),
    ({"from": "2025-02-01", "to": "yesterday"}, "to"),
    ({"from": "2025-02-10", "to": "2025-02-01"}, "to"),
    ({"from": "2015-01-01", "to": "2025-02-01"}, "from"),
    ({**FEB, "service": "astrology"}, "service"),
])
def test_it_names_the_bad_field(admin_api, params, field):
    r = admin_api.get(URL, params)
    assert r.status_code == 400
    assert list(r.json()["errors"]) == [field]


def test_it_defaults_to_the_30_days_ending_yesterday(admin_api, db):
    body = admin_api.get(URL).json()
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    assert body["to"] == yesterday.isoformat()
    assert body["from"] == (yesterday - dt.timedelta(days=29)).isoformat()


def test_it_serves_a_fresh_snapshot_and_recomputes_a_stale_one(admin_api, feb_program, build):
    snapshot = MetricSnapshot.objects.create(period_start=FEB_START, period_end=FEB_END)
    services.snapshot_compute(snapshot_id=snapshot.pk)
    build.intake(build.patient(), timezone.make_aware(dt.datetime(2025, 2, 9, 12)), "high")
    body = admin_api.get(URL, FEB).json()
    assert (body["source"], body["new_intakes"]) == ("snapshot", 3)
    MetricSnapshot.objects.filter(pk=snapshot.pk).update(
        computed_at=timezone.now() - dt.timedelta(hours=1))
    body = admin_api.get(URL, FEB).json()
    assert (body["source"], body["new_intakes"]) == ("live", 4)


def test_it_answers_the_same_from_a_snapshot_as_live(admin_api, feb_program):
    live = admin_api.get(URL, FEB).json()
    services.snapshot_compute(snapshot_id=MetricSnapshot.objects.create(
        period_start=FEB_START, period_end=FEB_END).pk)
    cached = admin_api.get(URL, FEB).json()
    assert cached["source"] == "snapshot"
    for key in definitions.METRICS:
        assert cached[key] == live[key], key
    assert list(cached["responders_by_risk_group"]) == ["low", "medium", "high"]


def test_it_documents_the_endpoint_in_the_schema(admin_api):
    r = admin_api.get("/api/schema/", HTTP_ACCEPT="application/json")
    schema = r.json() if r.headers["Content-Type"].startswith("application/json") else None
    text = r.content.decode()
    assert r.status_code == 200
    assert "/api/metrics/program/" in text
    if schema:
        props = schema["components"]["schemas"]["ProgramMetricsOutput"]["properties"]
        assert {"from", "to", "service", "definitions", *definitions.METRICS} <= set(props)


def test_it_computes_live_in_a_bounded_number_of_queries(admin_api, feb_program,
                                                         django_assert_max_num_queries):
    scope = Scope(FEB_START, FEB_END)
    assert scope.days == 28
    with django_assert_max_num_queries(60):
        assert admin_api.get(URL, FEB).status_code == 200
