"""The responder roll-ups (metrics.rollups) give exactly the live figures, for any period and
site, and stay exact as patients answer, come to groups, get an intake or move site: the
worker refreshes only what changed, and until it has, the metrics read live."""

import datetime as dt
import io

import pytest

from clinic import scale_data
from metrics import definitions as d
from metrics import rollups
from metrics.models import ChangedPatient, ResponderDay, ResponderFact
from patients.models import Patient, Site
from referrals.models import ReferralEvent
from visits.models import Attendance

from .conftest import FEB_END, FEB_START, NOW, at, feb, seed_services

pytestmark = pytest.mark.postgres

RESPONDER_KEYS = ("responders", "responders_by_risk_group", "responders_by_attendance_dose",
                  "pct_step_up_after_not_improving_2w")
ACTIVE_KEYS = ("active_patients", "mean_mme_intake", "mean_mme_latest", "pct_on_opioids",
               "pct_mme_50", "pct_mme_90")
KEYS = RESPONDER_KEYS + ACTIVE_KEYS + ("referrals_by_state",)


def live(scope) -> dict:
    """The figures from the live queries (the roll-ups ignored)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rollups, "is_current", lambda: False)
        return d.compute(scope, KEYS)


def from_rollups(scope) -> dict:
    assert rollups.is_current()
    with pytest.MonkeyPatch.context() as mp:
        for live_query in ("_followups", "_active_patients", "_not_improving_pegs"):
            mp.setattr(d, live_query, _must_not_run)
        return d.compute(scope, KEYS)


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
    baseline risk group, group attendance before some follow-ups, opioid doses, a referral
    open across February and one closed before it."""
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
    Patient.objects.filter(pk=a.pk).update(baseline_mme=60, current_mme=40)
    Patient.objects.filter(pk=d_.pk).update(baseline_mme=120, current_mme=95)
    Patient.objects.filter(pk=patients["C"].pk).update(current_mme=0)
    build.referral(patients["G"], "physio", at(1, 2), ("triaged", at(1, 3)))  # open since
    build.referral(patients["E"], "physio", at(1, 2), ("declined", at(1, 20)))
    # Not improving at 12 weeks: intake in November, PEG 6.0 -> 5.0 on 20 February.
    late = build.patient(intake_date=dt.date(2024, 11, 20))
    build.response(late, "peg", dt.datetime(2024, 11, 20, 12, tzinfo=dt.UTC), 6.0,
                   context="intake")
    build.response(late, "peg", feb(20), 5.0)
    patients["late"] = late
    return patients


def test_roll_ups_equal_the_live_figures_for_every_period(program):
    rollups.refresh()
    assert ResponderFact.objects.exists() and ResponderDay.objects.exists()
    for scope in scopes():
        assert from_rollups(scope) == live(scope), scope
    february = from_rollups(scopes()[0])
    assert february["referrals_by_state"]["triaged"] == 2  # feb_program's two physio ones
    assert february["active_patients"] == live(scopes()[0])["active_patients"] > 0
    assert february["mean_mme_intake"] == 90.0          # A 60 and D 120
    assert february["pct_step_up_after_not_improving_2w"] == 0.0  # flagged, not stepped up
    assert february["responders"]["peg"] == 42.9        # peg_program (3 of 6) and "late"
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
        build, program):
    rollups.refresh()
    february = scopes()[0]
    before = from_rollups(february)
    # B answers again at the end of February: now 5.0 -> 3.0, a 40 % fall (a responder: A, B, D and F of seven).
    build.response(program["B"], "peg", feb(27), 3.0)
    assert not rollups.is_current()
    assert d.compute(february, ["responders"])["responders"]["peg"] == 57.1  # live: 4 of 7
    untouched = set(ResponderFact.objects.exclude(patient=program["B"])
                    .values_list("pk", flat=True))
    rollups.refresh()
    after = from_rollups(february)
    assert after == live(february) and after != before
    assert after["responders"]["peg"] == 57.1
    # Only B's facts were rebuilt: every other patient's rows are the same rows.
    assert set(ResponderFact.objects.exclude(patient=program["B"])
               .values_list("pk", flat=True)) == untouched


@pytest.mark.parametrize("change", ["intake", "attendance", "cancel_session", "move_session",
                                    "move_site", "dose", "close_referral", "new_referral",
                                    "bulk_update"])
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
    elif change == "move_session":  # D's February sessions move to March
        for attendance in d_.attendance.all():
            session = attendance.session
            session.starts_at = at(3, 5)
            session.save(update_fields=["starts_at"])
    elif change == "bulk_update":  # a queryset update, no save(), no updated_at
        Patient.objects.filter(pk=d_.pk).update(current_mme=10)
    elif change == "move_site":
        north = Site.objects.create(program=build.program, name="North", code="north")
        d_.site = north
        d_.save()
    elif change == "dose":
        d_.current_mme = 30
        d_.save()
    elif change == "close_referral":  # G's referral closes in January: G leaves February
        referral = program["G"].referrals.get()
        referral.status, referral.closed_at = "discharged", at(1, 25)
        referral.save()  # with its event, as referrals.services writes both
        ReferralEvent.objects.create(referral=referral, from_status="triaged",
                                     to_status="discharged", at=at(1, 25))
    else:
        build.referral(build.patient(), "physio", feb(14))
    assert not rollups.is_current()
    assert ChangedPatient.objects.exists()
    rollups.refresh()
    assert not ChangedPatient.objects.exists()
    for scope in scopes():
        assert from_rollups(scope) == live(scope), scope
    if change == "move_site":
        north = Site.objects.get(code="north")
        assert from_rollups(scopes(north)[0]) == live(scopes(north)[0])


def test_a_service_scope_reads_live(program):
    rollups.refresh()
    physio = d.Scope(FEB_START, FEB_END, d.Service.objects.get(code="physio"), now=NOW)
    # Referred to physio: A (a responder), B and G (not), E (a baseline only).
    assert d.compute(physio, ["responders"])["responders"]["peg"] == 33.3


@pytest.mark.django_db(transaction=True)  # the generator ends with VACUUM ANALYZE
def test_roll_ups_equal_live_on_generated_scale_data():
    seed_services()  # a transactional test may follow a flush
    scale_data.generate(patients=400, seed=11, out=io.StringIO())
    # Before the first build the bulk load leaves no queue behind (the build reads it all).
    assert not ChangedPatient.objects.exists()
    state = rollups.refresh()
    assert state.full_build_seconds is not None
    today = dt.date.today()
    for scope in (d.Scope(today - dt.timedelta(days=420), today),
                  d.Scope(today - dt.timedelta(days=30), today - dt.timedelta(days=1)),
                  *d.Scope(today - dt.timedelta(days=60), today).weeks()):
        assert from_rollups(scope) == live(scope), scope
