"""The responder roll-ups (metrics.rollups) give exactly the live figures, for any period and
site, and stay exact as patients answer, come to groups, get an intake or move site: the
worker refreshes only what changed, and until it has, the metrics read live."""

import datetime as dt
import io

import pytest

from clinic import scale_data
from metrics import definitions as d
from metrics import rollups
from metrics.models import ResponderDay, ResponderFact
from patients.models import Patient, Site
from visits.models import Attendance

from .conftest import FEB_END, FEB_START, NOW, at, feb, seed_services

pytestmark = pytest.mark.postgres

RESPONDER_KEYS = ("responders", "responders_by_risk_group", "responders_by_attendance_dose")


def live(scope) -> dict:
    """The figures from the live queries (the roll-ups ignored)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rollups, "is_current", lambda: False)
        return d.compute(scope, RESPONDER_KEYS)


def from_rollups(scope) -> dict:
    assert rollups.is_current()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(d, "_followups", _must_not_run)
        return d.compute(scope, RESPONDER_KEYS)


def _must_not_run(*args):
    raise AssertionError("the live responder query ran although the roll-ups are current")


def scopes(site=None):
    """February, a week inside it, a day, and Jan-Mar: periods that cut patients' response
    histories in every way (latest inside, next one inside or after, baseline only)."""
    return [d.Scope(FEB_START, FEB_END, None, site, now=NOW),
            d.Scope(dt.date(2025, 2, 3), dt.date(2025, 2, 9), None, site, now=NOW),
            d.Scope(dt.date(2025, 2, 10), dt.date(2025, 2, 10), None, site, now=NOW),
            d.Scope(dt.date(2025, 1, 1), dt.date(2025, 3, 31), None, site, now=NOW)]


@pytest.fixture
def program(build, feb_program):
    """The February program, with PHQ-9 and PROMIS-29 follow-ups, intakes that set the
    baseline risk group, and group attendance before some follow-ups."""
    patients = feb_program
    a, d_ = patients["A"], patients["D"]
    build.response(a, "phq9", at(1, 6), 15, context="intake")
    build.response(a, "phq9", feb(11), 8)                      # -7: responder
    build.response(d_, "promis29", at(1, 6), pi=65.0, pf=35.0, context="intake")
    build.response(d_, "promis29", feb(21), pi=61.5, pf=36.0)  # PI -3.5: responder; PF +1: no
    series = build.series(feb(4), feb(8))
    for session in series.sessions.all():
        build.attend(session, d_, "present")
    build.attend(series.sessions.first(), a, "absent")
    return patients


def test_roll_ups_equal_the_live_figures_for_every_period(program):
    rollups.refresh()
    assert ResponderFact.objects.exists() and ResponderDay.objects.exists()
    for scope in scopes():
        assert from_rollups(scope) == live(scope), scope
    february = from_rollups(scopes()[0])
    assert february["responders"]["peg"] == 50.0        # as worked in peg_program
    assert february["responders_by_attendance_dose"]["sessions_1_3"]["peg"] == 100.0  # D: twice


def test_roll_ups_equal_the_live_figures_per_site(build, program):
    north = Site.objects.create(program=build.program, name="North clinic", code="north")
    Patient.objects.filter(pk__in=[program["A"].pk, program["D"].pk]).update(site=north)
    rollups.refresh()
    main = build.program.sites.order_by("pk").first()
    for site in (north, main):
        for scope in scopes(site):
            assert from_rollups(scope) == live(scope), (site.code, scope)


def test_a_new_response_makes_them_stale_until_refreshed_and_the_refresh_is_incremental(
        build, program, monkeypatch):
    # Without the safety margins (which re-read the last rows below the marks: in a program
    # this small, everyone), only the patient who answered is rebuilt.
    monkeypatch.setattr(rollups, "ID_MARGIN", 0)
    monkeypatch.setattr(rollups, "TIME_MARGIN", dt.timedelta(0))
    rollups.refresh()
    february = scopes()[0]
    before = from_rollups(february)
    # B answers again at the end of February: now 5.0 -> 3.0, a 40 % fall (a responder: A, B, D and F of six).
    build.response(program["B"], "peg", feb(27), 3.0)
    assert not rollups.is_current()
    assert d.compute(february, ["responders"])["responders"]["peg"] == 66.7  # live: 4 of 6
    untouched = set(ResponderFact.objects.exclude(patient=program["B"])
                    .values_list("pk", flat=True))
    rollups.refresh()
    after = from_rollups(february)
    assert after == live(february) and after != before
    assert after["responders"]["peg"] == 66.7
    # Only B's facts were rebuilt: every other patient's rows are the same rows.
    assert set(ResponderFact.objects.exclude(patient=program["B"])
               .values_list("pk", flat=True)) == untouched


@pytest.mark.parametrize("change", ["intake", "attendance", "cancel_session", "move_site"])
def test_every_input_of_the_facts_is_noticed(build, program, change):
    rollups.refresh()
    d_ = program["D"]
    if change == "intake":  # an earlier first intake changes D's baseline risk group
        build.intake(d_, at(1, 1), "low")
    elif change == "attendance":
        Attendance.objects.filter(patient=program["A"]).update(status="present",
                                                              marked_at=NOW)
    elif change == "cancel_session":
        session = d_.attendance.first().session
        session.status, session.cancelled_at = "cancelled", NOW
        session.save()
    else:
        north = Site.objects.create(program=build.program, name="North", code="north")
        d_.site = north
        d_.save()
    assert not rollups.is_current()
    rollups.refresh()
    for scope in scopes():
        assert from_rollups(scope) == live(scope), scope
    if change == "move_site":
        north = Site.objects.get(code="north")
        assert from_rollups(scopes(north)[0]) == live(scopes(north)[0])


def test_a_service_scope_reads_live(program):
    rollups.refresh()
    physio = d.Scope(FEB_START, FEB_END, d.Service.objects.get(code="physio"), now=NOW)
    assert d.compute(physio, ["responders"])["responders"]["peg"] == 50.0


@pytest.mark.django_db(transaction=True)  # the generator ends with VACUUM ANALYZE
def test_roll_ups_equal_live_on_generated_scale_data():
    seed_services()  # a transactional test may follow a flush
    scale_data.generate(patients=400, seed=11, out=io.StringIO())
    state = rollups.refresh()
    assert state.full_build_seconds is not None
    today = dt.date.today()
    for scope in (d.Scope(today - dt.timedelta(days=420), today),
                  d.Scope(today - dt.timedelta(days=30), today - dt.timedelta(days=1)),
                  *d.Scope(today - dt.timedelta(days=60), today).weeks()):
        assert from_rollups(scope) == live(scope), scope
