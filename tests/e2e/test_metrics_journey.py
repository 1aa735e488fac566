"""An administrator opens the program dashboard, computes the metrics on demand, sees the
KPI cards and charts drawn, and exports a CSV holding the same numbers as the API."""

import csv
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics.definitions import MEASURE_LABELS, METRICS, default_range
from metrics.presenters import flatten
from outcomes.models import QuestionnaireResponse
from patients.models import Intake, Patient, Program
from referrals.catalogue import SERVICES
from referrals.models import Referral, ReferralEvent, Service

pytestmark = pytest.mark.django_db(transaction=True)


def seed_services() -> None:
    for code, name, discipline, triage, first_visit, group in SERVICES:
        Service.objects.get_or_create(code=code, defaults={
            "name": name, "discipline": discipline, "sla_triage_days": triage,
            "sla_first_visit_days": first_visit, "is_group_based": group})


def _program_in_the_default_range():
    """A few patients inside the dashboard's default range (the 30 days ending yesterday)."""
    start, _ = default_range()
    program = Program.default()
    seed_services()  # an earlier transactional test in the session may have flushed them
    physio = Service.objects.get(code="physio")

    def day(n, hour=10):
        return timezone.make_aware(dt.datetime.combine(start + dt.timedelta(days=n),
                                                       dt.time(hour)))

    for i, (risk, peg_before, peg_after, nps) in enumerate([
            ("low", 7.0, 4.0, 10), ("medium", 6.0, 5.67, 8), ("high", 8.0, 5.0, 4),
            ("high", 5.0, 3.0, 9)]):
        patient = Patient.objects.create(
            program=program, mrn=f"E2E{i}", given_name="Hidden", family_name=f"Person{i}",
            birth_date=dt.date(1980, 1, 1), risk_group=risk, intake_date=day(i).date(),
            baseline_mme=Decimal(40 + 20 * i), current_mme=Decimal(30 + 10 * i))
        Intake.objects.create(patient=patient, red_flags={}, startback_total=3,
                              startback_psychosocial=2, risk_group=risk,
                              suggested_pathway="physiotherapy", created_at=day(i))
        referral = Referral.objects.create(patient=patient, service=physio, reason="back pain",
                                           referred_at=day(i), triaged_at=day(i + 2 + i),
                                           status="triaged")
        ReferralEvent.objects.create(referral=referral, to_status="new", at=day(i))
        ReferralEvent.objects.create(referral=referral, from_status="new", to_status="triaged",
                                     at=day(i + 2 + i))
        for when, score, context in ((day(i), peg_before, "intake"),
                                     (day(20 + i), peg_after, "follow_up")):
            QuestionnaireResponse.objects.create(
                patient=patient, instrument="peg", instrument_version="e2e", answers={},
                scores={"score": score}, primary_score=Decimal(str(score)), context=context,
                answered_at=when)
        QuestionnaireResponse.objects.create(
            patient=patient, instrument="nps", instrument_version="e2e", answers={},
            scores={"score": nps}, primary_score=Decimal(nps), context="follow_up",
            answered_at=day(21 + i))


def test_it_computes_and_draws_the_dashboard_and_exports_what_it_shows(
        page, login_as, screenshot, admin_user, tmp_path):
    _program_in_the_default_range()
    login_as(admin_user)
    page.goto("/metrics/")
    expect(page.get_by_role("heading", name="Program dashboard")).to_be_visible()
    expect(page.locator("#snapshot-info")).to_contain_text("No snapshot for this range")

    page.get_by_role("button", name="Compute now").click()
    # The worker runs the snapshot; the page polls its progress and reloads when done.
    expect(page.locator("#snapshot-info")).to_contain_text("Snapshot computed", timeout=30_000)

    canvases = page.locator("canvas[data-chart]")
    expect(canvases).to_have_count(7)
    for i in range(7):
        expect(canvases.nth(i)).to_have_attribute("data-rendered", "true")
    assert page.evaluate("Object.keys(window.Chart.instances).length") == 7
    widths = page.eval_on_selector_all("canvas[data-chart]", "cs => cs.map(c => c.width)")
    assert all(width > 0 for width in widths)
    # One palette: the risk doughnut uses the badges' colours (low green, medium amber,
    # high red); counts have whole-number ticks; each responder measure is its own bars.
    chart = "(key) => Chart.getChart(document.getElementById('chart-' + key))"
    risk = page.evaluate(f"() => {{ const c = ({chart})('risk_mix'); return "
                         "[c.data.labels, c.data.datasets[0].backgroundColor]; }")
    assert dict(zip(*risk, strict=True)) == {"Low risk": "#146c43", "Medium risk": "#ffc107",
                                             "High risk": "#b02a37"}
    badge = page.evaluate("() => { const b = document.createElement('span'); "
                          "b.className = 'badge badge-risk-high'; document.body.append(b); "
                          "return getComputedStyle(b).backgroundColor; }")
    assert badge == "rgb(176, 42, 55)"  # #b02a37, the doughnut's high-risk colour
    ticks = page.evaluate(f"() => ({chart})('intakes').scales.y.ticks.map(t => t.value)")
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    responders = page.evaluate(f"() => {{ const c = ({chart})('responders'); return "
                               "[c.config.type, c.data.datasets.map(d => d.backgroundColor)]; }")
    assert responders[0] == "bar"
    assert len(set(responders[1])) == len(responders[1]) == len(MEASURE_LABELS)

    intakes = page.locator('.metric-card[data-metric="new_intakes"]')
    expect(intakes.locator("[data-value]")).to_have_text("4")
    expect(intakes).to_have_attribute("title", METRICS["new_intakes"].definition)
    expect(page.locator('.metric-card[data-metric="nps"] [data-value]')).to_have_text("25.0")
    expect(page.locator("#def-responders")).to_be_visible()
    expect(page.get_by_text("Person0")).to_have_count(0)  # aggregates only
    screenshot("dashboard")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    path = Path(tmp_path) / "metrics.csv"
    download_info.value.save_as(path)
    with path.open(newline="") as handle:
        period = {row["metric"]: row["value"] for row in csv.DictReader(handle)
                  if row["section"] == "period"}

    start, end = default_range()
    api = page.request.get(f"/api/metrics/program/?from={start}&to={end}").json()
    expected = [pair for key in METRICS for pair in flatten(key, api[key])]
    assert list(period) == [path for path, _ in expected]
    for metric_path, value in expected:
        cell = period[metric_path]
        assert (None if cell == "" else float(cell)) == value, metric_path
    assert api["responders"]["peg"] == 75.0  # 7 -> 4, 8 -> 5, 5 -> 3 of the four

    page.get_by_label("Service").select_option("physio")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"service=physio"))
    expect(page.locator("#snapshot-info")).to_contain_text("No snapshot for this range")
