"""Admins' aggregates filter by site (SPEC §6): patient measures count the site's patients,
group measures its series, appointment measures its appointments; the API takes `site` as
an id or a code, the dashboard offers it, and snapshots are kept per site."""

import pytest
from django.core.management import call_command

from metrics import definitions as d
from metrics import services
from metrics.models import MetricSnapshot
from metrics.selectors import snapshot_latest
from patients.models import Site

from .conftest import FEB_END, FEB_START, NOW, at, feb

URL = "/api/metrics/program/"
FEB = {"from": "2025-02-01", "to": "2025-02-28"}


@pytest.fixture
def two_sites(build):
    """Site A (the first) and site B, each with a patient who answered PEG twice, a
    referral triaged in February and a group series with one attended session."""
    a = build.program.sites.order_by("pk").first()
    b = Site.objects.create(program=build.program, name="North clinic", code="north")
    out = {"a": a, "b": b}
    for key, site, follow_up, triage_days in (("a", a, 3.0, 2), ("b", b, 9.0, 6)):
        patient = build.patient(site=site, risk="low")
        build.intake(patient, at(1, 5), "low")
        build.response(patient, "peg", at(1, 5), 9.0, context="intake")
        build.response(patient, "peg", feb(20), follow_up)  # A responds (-67 %), B does not
        build.referral(patient, "physio", feb(1), ("triaged", feb(1 + triage_days)))
        series = build.series(feb(10), site=site, capacity=4 if key == "a" else 8)
        build.enrol(series, patient)
        build.attend(series.sessions.get(), patient, "present" if key == "a" else "absent")
        out[f"patient_{key}"] = patient
    return out


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def scope(site=None):
    return d.Scope(FEB_START, FEB_END, None, site, now=NOW)


def test_each_site_counts_only_its_own_patients_series_and_referrals(two_sites):
    a, b = two_sites["a"], two_sites["b"]
    everyone, site_a, site_b = d.compute(scope()), d.compute(scope(a)), d.compute(scope(b))
    assert everyone["active_patients"] == 2
    assert (site_a["active_patients"], site_b["active_patients"]) == (1, 1)
    assert everyone["responders"]["peg"] == 50.0
    assert (site_a["responders"]["peg"], site_b["responders"]["peg"]) == (100.0, 0.0)
    assert everyone["median_days_referral_to_triage"] == 4.0  # 2 and 6 days
    assert (site_a["median_days_referral_to_triage"],
            site_b["median_days_referral_to_triage"]) == (2.0, 6.0)
    assert (site_a["referrals_by_state"]["triaged"], site_b["referrals_by_state"]["triaged"]) \
        == (1, 1)
    # Group measures follow the series' site: 1 of 4 seats at A, 1 of 8 at B.
    assert (site_a["group_fill_rate"], site_b["group_fill_rate"]) == (25.0, 12.5)
    assert everyone["group_fill_rate"] == round(2 / 12 * 100, 1)
    assert (site_a["attendance_rate"], site_b["attendance_rate"]) == (100.0, 0.0)


def test_the_acknowledgement_breakdown_shows_only_the_chosen_site(build, two_sites):
    build.alert(two_sites["patient_b"], feb(3, 9), feb(3, 15))
    only_b = d.compute(scope(two_sites["b"]), ["alert_acknowledgement_by_site",
                                               "median_hours_to_acknowledge"])
    assert set(only_b["alert_acknowledgement_by_site"]) == {"north"}
    assert only_b["median_hours_to_acknowledge"] == 6.0
    assert d.compute(scope(two_sites["a"]), ["median_hours_to_acknowledge"]) == {
        "median_hours_to_acknowledge": None}


def test_the_api_takes_a_site_id_or_code(admin_api, two_sites):
    by_code = admin_api.get(URL, {**FEB, "site": "north"})
    by_id = admin_api.get(URL, {**FEB, "site": str(two_sites["b"].pk)})
    assert by_code.status_code == by_id.status_code == 200
    for body in (by_code.json(), by_id.json()):
        assert body["site"] == "north"
        assert body["active_patients"] == 1
        assert body["responders"]["peg"] == 0.0
    assert admin_api.get(URL, FEB).json()["site"] is None


@pytest.mark.parametrize("value", ["nowhere", "99999", ""])
def test_an_unknown_or_empty_site_is_a_400_naming_site(admin_api, two_sites, value):
    r = admin_api.get(URL, {**FEB, "site": value})
    assert r.status_code == 400
    assert "site" in r.json()["errors"]


def test_snapshots_are_kept_per_site(two_sites, admin_user):
    b = two_sites["b"]
    program = services.snapshot_create(scope=scope())
    north = services.snapshot_create(scope=scope(b))
    services.snapshot_compute(snapshot_id=program.pk)
    services.snapshot_compute(snapshot_id=north.pk)
    north.refresh_from_db()
    assert north.site == b and north.status == MetricSnapshot.Status.DONE
    assert north.values["active_patients"] == 1
    assert snapshot_latest(scope(b)).pk == north.pk
    assert snapshot_latest(scope()).pk == program.pk


def test_the_dashboard_offers_the_site_and_says_which_one(admin_client, two_sites):
    page = admin_client.get("/metrics/", {**FEB, "site": "north"})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="f-site"' in html
    assert '<option value="north" selected>North clinic</option>' in html
    assert "whole program at North clinic" in html
    csv = admin_client.get("/metrics/export.csv", {**FEB, "site": "north"})
    assert csv.status_code == 200
    assert 'ipm-metrics-program-north-2025-02-01-2025-02-28.csv' in csv["Content-Disposition"]
    header, first = csv.content.decode().splitlines()[:2]
    assert header.endswith(",site") and first.endswith(",north")


def test_compute_metrics_takes_a_site(two_sites, capsys):
    call_command("compute_metrics", "--from", "2025-02-01", "--to", "2025-02-28",
                 "--site", "north")
    out = capsys.readouterr().out
    assert "site north" in out
    assert MetricSnapshot.objects.get(site=two_sites["b"]).values["active_patients"] == 1


