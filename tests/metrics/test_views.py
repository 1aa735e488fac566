"""The administrator's dashboard, the on-demand recompute with its progress poll, and the
CSV export of every number shown."""

import csv
import datetime as dt
import io
import json

import pytest
from django.utils import timezone
from django.utils.html import escape

from ipm.models import AuditEvent
from metrics import definitions, presenters, services
from metrics.filters import period_phrase
from metrics.models import MetricSnapshot

from .conftest import FEB_END, FEB_START

FEB = {"from": "2025-02-01", "to": "2025-02-28"}
DASHBOARD = "/metrics/"
EXPORT = "/metrics/export.csv"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def feb_snapshot(feb_program):
    snapshot = MetricSnapshot.objects.create(period_start=FEB_START, period_end=FEB_END)
    return services.snapshot_compute(snapshot_id=snapshot.pk)


def test_it_shows_cards_charts_and_definitions_from_the_snapshot(admin_client, feb_snapshot):
    r = admin_client.get(DASHBOARD, FEB)
    assert r.status_code == 200
    html = r.content.decode()
    for chart in ("intakes", "wait_times", "attendance", "responders", "mme", "risk_mix",
                  "referrals_by_state"):
        assert f'data-chart="{chart}"' in html
    assert 'id="metrics-chart-data"' in html
    assert "metrics/dashboard.js" in html and "vendor/chartjs/chart.umd.min.js" in html
    assert "<script>" not in html.replace('<script id="metrics-chart-data"', "")
    for key in definitions.METRICS:
        assert f'id="def-{key}"' in html  # every number has a footnote with its definition
    nps_card = html.split('data-metric="nps"')[1].split("</div>\n    </div>")[0]
    assert f'title="{escape(definitions.METRICS["nps"].definition)}"' in html
    assert "0.0" in nps_card
    chart_data = json.loads(html.split('id="metrics-chart-data" type="application/json">')[1]
                            .split("</script>")[0])
    assert chart_data["weeks"] == ["2025-02-01", "2025-02-03", "2025-02-10", "2025-02-17",
                                   "2025-02-24"]
    assert sum(chart_data["charts"]["intakes"]["datasets"][0]["data"]) == 3


def test_it_never_names_patients(admin_client, feb_snapshot, feb_program):
    html = admin_client.get(DASHBOARD, FEB).content.decode()
    named = feb_program["named"]
    assert named.given_name not in html and named.family_name not in html
    assert named.mrn not in html


def test_it_offers_to_compute_when_there_is_no_snapshot(admin_client, db):
    html = admin_client.get(DASHBOARD, FEB).content.decode()
    assert "No snapshot for this range" in html
    assert "Compute now" in html
    assert "data-chart" not in html


@pytest.mark.parametrize("role_user", ["clinician", "coordinator", "nobody"])
def test_it_is_for_admins_only(client, request, role_user, feb_snapshot):
    client.force_login(request.getfixturevalue(role_user))
    assert client.get(DASHBOARD).status_code == 403
    assert client.get(EXPORT, FEB).status_code == 403
    assert client.post("/metrics/snapshots/", FEB).status_code == 403
    assert client.get(f"/metrics/snapshots/{feb_snapshot.pk}/progress/").status_code == 403


def test_it_sends_anonymous_visitors_to_log_in(client, db):
    r = client.get(DASHBOARD)
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_it_computes_on_demand_in_the_worker_and_redirects_when_done(
        admin_client, admin_user, feb_program, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        r = admin_client.post("/metrics/snapshots/", {**FEB, "service": "physio"},
                              HTTP_HX_REQUEST="true")
    assert len(callbacks) == 1  # the task is queued once the request's writes commit
    assert 'hx-trigger="every 1s"' in r.content.decode()  # the page starts polling
    snapshot = MetricSnapshot.objects.get()
    assert (snapshot.status, snapshot.progress, snapshot.service.code) == ("done", 100, "physio")
    assert snapshot.requested_by == admin_user
    poll = admin_client.get(f"/metrics/snapshots/{snapshot.pk}/progress/")
    assert poll["HX-Redirect"] == "/metrics/?from=2025-02-01&to=2025-02-28&service=physio"
    assert "hx-trigger" not in poll.content.decode()
    assert AuditEvent.objects.filter(action="metrics.snapshot_requested",
                                     actor=admin_user).exists()


def test_it_polls_a_running_snapshot_and_shows_its_progress(admin_client, db):
    snapshot = MetricSnapshot.objects.create(period_start=FEB_START, period_end=FEB_END,
                                             status="running", progress=40,
                                             started_at=timezone.now())
    r = admin_client.get(f"/metrics/snapshots/{snapshot.pk}/progress/")
    html = r.content.decode()
    assert r.status_code == 200 and "HX-Redirect" not in r
    assert 'hx-trigger="every 1s"' in html and 'aria-valuenow="40"' in html
    page = admin_client.get(DASHBOARD, FEB).content.decode()
    assert 'hx-trigger="every 1s"' in page  # a reload keeps showing the run in flight


def test_it_stops_polling_and_explains_a_failed_run(admin_client, db):
    snapshot = MetricSnapshot.objects.create(period_start=FEB_START, period_end=FEB_END,
                                             status="failed", error="OperationalError: boom")
    html = admin_client.get(f"/metrics/snapshots/{snapshot.pk}/progress/").content.decode()
    assert "hx-trigger" not in html
    assert "OperationalError: boom" in html


def test_it_reuses_a_run_already_in_flight(admin_client, feb_program,
                                           django_capture_on_commit_callbacks):
    running = MetricSnapshot.objects.create(period_start=FEB_START, period_end=FEB_END,
                                            status="pending")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        admin_client.post("/metrics/snapshots/", FEB, HTTP_HX_REQUEST="true")
    assert MetricSnapshot.objects.get() == running
    assert callbacks == []


def _csv(response):
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("with_snapshot", [True, False])
def test_it_exports_the_same_numbers_as_the_api(admin_client, admin_api, feb_program,
                                                with_snapshot):
    if with_snapshot:
        services.snapshot_compute(snapshot_id=MetricSnapshot.objects.create(
            period_start=FEB_START, period_end=FEB_END).pk)
    r = admin_client.get(EXPORT, FEB)
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    assert "attachment" in r["Content-Disposition"]
    rows = _csv(r)
    period = {row["metric"]: row for row in rows if row["section"] == "period"}
    api = admin_api.get("/api/metrics/program/", FEB).json()
    expected = [pair for key in definitions.METRICS
                for pair in presenters.flatten(key, api[key])]
    assert list(period) == [path for path, _ in expected]
    for path, value in expected:
        cell = period[path]["value"]
        assert (None if cell == "" else float(cell)) == value, path
        assert period[path]["definition"] == definitions.METRICS[path.split(".")[0]].definition
        assert (period[path]["period_start"], period[path]["period_end"]) == (
            "2025-02-01", "2025-02-28")
    weeks = {row["period_start"] for row in rows if row["section"] == "week"}
    assert weeks == {"2025-02-01", "2025-02-03", "2025-02-10", "2025-02-17", "2025-02-24"}
    assert {row["section"] for row in rows} == {"period", "previous_period", "week"}


def test_it_exports_previous_period_and_change(admin_client, feb_snapshot):
    rows = _csv(admin_client.get(EXPORT, FEB))
    intakes = next(r for r in rows if r["section"] == "period" and r["metric"] == "new_intakes")
    assert (intakes["value"], intakes["previous_value"], intakes["change"]) == ("3", "0", "3")
    previous = next(r for r in rows if r["section"] == "previous_period"
                    and r["metric"] == "new_intakes")
    assert (previous["period_start"], previous["period_end"]) == ("2025-01-04", "2025-01-31")


def test_it_refuses_a_bad_export_filter(admin_client, db):
    r = admin_client.get(EXPORT, {"from": "2025-02-30", "to": "2025-03-01"})
    assert r.status_code == 400
    assert "from" in r.content.decode()


def test_it_audits_exports(admin_client, admin_user, feb_snapshot):
    admin_client.get(EXPORT, FEB)
    event = AuditEvent.objects.get(action="metrics.export")
    assert event.actor == admin_user and event.patient_id is None
    assert event.detail["from"] == "2025-02-01"


def test_it_renders_the_dashboard_in_a_fixed_number_of_queries(
        admin_client, feb_snapshot, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        assert admin_client.get(DASHBOARD, FEB).status_code == 200


def test_it_shows_safety_alert_acknowledgement_by_site(admin_client, feb_snapshot):
    # feb_program's one alert: Wednesday 12 Feb 09:00 -> 15:00 at the main site (6 h, within
    # one 8-hour working day).
    html = admin_client.get(DASHBOARD, FEB).content.decode()
    assert 'data-metric="pct_acknowledged_within_working_day"' in html
    table = html.split('data-metric="alert_acknowledgement_by_site"')[1].split("</table>")[0]
    row = table.split('data-site="main"')[1].split("</tr>")[0]
    assert '<td class="text-end text-nowrap" data-measure="median_hours">6.0' in row
    assert '<td class="text-end text-nowrap" data-measure="pct_within_working_day">100.0' in row


def test_the_dashboard_says_its_period_and_offers_today(admin_client):
    html = admin_client.get("/metrics/").content.decode()
    assert "ending yesterday: today is not included" in html
    today = timezone.localdate().isoformat()
    assert f'href="?from={today}&amp;to={today}">Today</a>' in html
    html = admin_client.get(f"/metrics/?from={today}&to={today}").content.decode()
    assert "today so far" in html and 'aria-current="true" href="?from=' in html


@pytest.mark.parametrize(("start", "end", "words"), [
    ("2026-03-10", "2026-03-10", "1 day, 10 Mar 2026 (today so far)"),
    ("2026-02-09", "2026-03-10", "30 days, 9 Feb 2026 to 10 Mar 2026 (up to and including today)"),
    ("2026-02-08", "2026-03-09", "30 days, 8 Feb 2026 to 9 Mar 2026 (ending yesterday: today is not included)"),
])
def test_it_puts_the_period_in_words(start, end, words):
    today = dt.date(2026, 3, 10)
    assert period_phrase(dt.date.fromisoformat(start), dt.date.fromisoformat(end), today) == words
