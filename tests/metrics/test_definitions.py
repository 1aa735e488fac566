"""Every metric of docs/product.md §3.6 on a small hand-built program; the right answer is worked out
beside each case. The period is February 2025 and "now" is 20 March 2025 (see conftest)."""

import datetime as dt

import pytest
from django.db.models import F

from appointments.models import Appointment, WeeklyAvailability
from ipm import roles
from metrics import definitions as d
from metrics.sql import DaysBetween, _median_window, median
from patients.models import Program, Site
from referrals.models import Referral, Service
from tests.conftest import make_user

from .conftest import FEB_END, FEB_START, NOW, at, feb, peg_program


def scope_for(build, service=None, now=NOW):
    return d.Scope(FEB_START, FEB_END, build.service(service) if service else None, now=now)


# --- scope ----------------------------------------------------------------------------------


def test_it_splits_a_range_into_monday_weeks_clipped_to_the_range():
    weeks = d.Scope(dt.date(2025, 2, 1), dt.date(2025, 2, 28)).weeks()
    assert [(w.start.isoformat(), w.end.isoformat()) for w in weeks] == [
        ("2025-02-01", "2025-02-02"), ("2025-02-03", "2025-02-09"), ("2025-02-10", "2025-02-16"),
        ("2025-02-17", "2025-02-23"), ("2025-02-24", "2025-02-28")]


def test_it_compares_with_the_previous_range_of_the_same_length():
    previous = d.Scope(dt.date(2025, 2, 1), dt.date(2025, 2, 28)).previous()
    assert (previous.start, previous.end) == (dt.date(2025, 1, 4), dt.date(2025, 1, 31))


def test_it_defaults_to_the_30_days_ending_yesterday():
    assert d.default_range(dt.date(2025, 3, 20)) == (dt.date(2025, 2, 18), dt.date(2025, 3, 19))


# --- activity and intake --------------------------------------------------------------------


def test_it_counts_active_patients_by_care_activity_in_the_period(build, february):
    open_in_feb = build.patient()
    build.referral(open_in_feb, "physio", at(1, 10), ("declined", feb(10)))  # open until Feb 10
    closed_in_jan = build.patient()
    build.referral(closed_in_jan, "physio", at(1, 2), ("declined", at(1, 20)))
    attended = build.patient()
    absent = build.patient()
    series = build.series(feb(12))
    session = series.sessions.get()
    build.attend(session, attended, "present")
    build.attend(session, absent, "absent")
    answered = build.patient()
    build.response(answered, "peg", feb(3), 5.0)
    referred_in_march = build.patient()
    build.referral(referred_in_march, "physio", at(3, 3))
    build.patient()  # nothing at all
    # open_in_feb, attended, answered
    assert d.active_patients(february) == 3


def test_it_counts_new_intakes_and_the_risk_mix_of_each_patients_latest_intake(build, february):
    low, changed, high, january = (build.patient() for _ in range(4))
    build.intake(low, feb(2), "low")
    build.intake(changed, feb(3), "medium")
    build.intake(changed, feb(20), "high")  # the latest in the period wins
    build.intake(high, feb(28, 23, 59), "high")
    build.intake(january, at(1, 31, 23, 59), "medium")
    assert d.new_intakes(february) == 3
    assert d.risk_mix(february) == {"low": 1, "medium": 0, "high": 2}


# --- referrals ------------------------------------------------------------------------------


def test_it_counts_referrals_by_their_state_at_the_end_of_the_period(build, february):
    p = build.patient()
    build.referral(p, "physio", feb(1))  # still new
    build.referral(p, "physio", feb(2), ("triaged", feb(5)))
    build.referral(p, "physio", feb(3), ("triaged", feb(5)), ("scheduled", at(3, 3)))  # triaged then
    build.referral(p, "physio", feb(4), ("declined", feb(10)))
    build.referral(p, "physio", at(1, 20), ("triaged", feb(2)))  # received in January
    assert d.referrals_by_state(february) == {
        "new": 1, "triaged": 2, "scheduled": 0, "in_treatment": 0, "discharged": 0,
        "declined": 1, "cancelled": 0}


@pytest.mark.parametrize(("waits_in_days", "expected"), [
    ([0.5, 2, 10], 2.0),       # odd count: the middle one
    ([0.5, 2, 4, 10], 3.0),    # even count: the mean of the two middle ones
    ([], None),
])
def test_it_takes_the_median_days_from_referral_to_triage(build, february, waits_in_days,
                                                           expected):
    p = build.patient()
    for wait in waits_in_days:
        triaged = feb(20)
        build.referral(p, "physio", triaged - dt.timedelta(days=wait), ("triaged", triaged))
    build.referral(p, "physio", at(1, 1), ("triaged", at(1, 31)))  # triaged in January: 30 days
    build.referral(p, "physio", feb(25), ("triaged", at(3, 5)))    # triaged in March: 8 days
    assert d.median_days_referral_to_triage(february) == expected


def test_it_takes_the_median_days_from_referral_to_the_first_attended_visit(build, february):
    p, q, r = build.patient(), build.patient(), build.patient()
    # 7 days: treatment started on the referral.
    build.referral(p, "physio", feb(1), ("triaged", feb(2)), ("scheduled", feb(3)),
                   ("in_treatment", feb(8)))
    # 14 days: a group service, first attended session (an earlier absence does not count).
    build.referral(q, "group_programme", feb(2), ("triaged", feb(3)), ("scheduled", feb(4)))
    series = build.series(feb(10), feb(16), feb(23))
    first, second, third = series.sessions.order_by("starts_at")
    build.attend(first, q, "absent")
    build.attend(second, q, "present")
    build.attend(third, q, "present")
    # First visit in March: not in this period.
    build.referral(r, "physio", feb(20), ("triaged", feb(21)), ("scheduled", feb(22)),
                   ("in_treatment", at(3, 2)))
    assert d.median_days_referral_to_first_visit(february) == 10.5  # (7 + 14) / 2


def test_it_counts_referrals_over_the_triage_sla(build):
    # physio: triage target 5 days. "Now" is 28 Feb 12:00 in this test.
    now = feb(28)
    p = build.patient()
    build.referral(p, "physio", feb(1), ("triaged", feb(4)))      # 3 days: within
    build.referral(p, "physio", feb(2), ("triaged", feb(8)))      # 6 days: over
    build.referral(p, "physio", feb(10))                          # untriaged 18 days: over
    build.referral(p, "physio", feb(26))                          # untriaged 2 days: within
    build.referral(p, "physio", feb(3), ("declined", feb(5)))     # closed after 2 days: within
    build.referral(p, "physio", at(1, 2))                         # received in January
    build.referral(p, "psychology", feb(1))                       # other service, over
    assert d.pct_over_sla(scope_for(build, "physio", now=now)) == 40.0   # 2 of 5
    assert d.pct_over_sla(scope_for(build, now=now)) == 50.0             # 3 of 6


# --- group visits ---------------------------------------------------------------------------


def test_it_computes_the_group_fill_rate_over_series_running_in_the_period(build, february):
    people = [build.patient() for _ in range(20)]
    x = build.series(feb(10), capacity=10)
    for person in people[:6]:
        build.enrol(x, person)
    build.enrol(x, people[6], "completed")
    build.enrol(x, people[7], "waitlisted", seq=1)
    build.enrol(x, people[8], "waitlisted", seq=2)
    build.enrol(x, people[9], "withdrawn", withdrawn_at=feb(1))
    y = build.series(feb(12), capacity=5)
    for person in people[10:15]:
        build.enrol(y, person)
    march_only = build.series(at(3, 3), capacity=8)
    build.enrol(march_only, people[15])
    cancelled_only = build.series(cancelled=(feb(14),), capacity=8)
    build.enrol(cancelled_only, people[16])
    assert d.group_fill_rate(february) == 80.0  # (7 + 5) seats of (10 + 5)


def test_it_computes_the_attendance_rate_from_marked_attendance(build, february):
    people = [build.patient() for _ in range(7)]
    series = build.series(feb(10), at(3, 3), cancelled=(feb(17),))
    held, march = series.sessions.filter(status="scheduled").order_by("starts_at")
    cancelled = series.sessions.get(status="cancelled")
    for person, status in zip(people, ["present", "present", "present", "absent", "late_cancel",
                                       "excused", "unresolved"], strict=True):
        build.attend(held, person, status)
    build.attend(cancelled, people[3], "present")
    build.attend(march, people[3], "present")
    assert d.attendance_rate(february) == 60.0  # 3 present of 5 (present, absent, late cancel)


def test_it_counts_completion_at_75_percent_of_held_sessions(build, february):
    series = build.series(feb(3), feb(10), feb(17), feb(24), cancelled=(feb(20),))
    sessions = list(series.sessions.filter(status="scheduled").order_by("starts_at"))
    a, b, c, d_, e, f = (build.patient() for _ in range(6))

    def attended(person, n):
        for session in sessions[:n]:
            build.attend(session, person, "present")
        for session in sessions[n:]:
            build.attend(session, person, "absent")

    build.enrol(series, a)
    attended(a, 3)   # 3 of 4 = 75 %: completed (the boundary counts)
    build.enrol(series, b)
    attended(b, 2)   # 50 %: not completed
    build.enrol(series, c, "completed")
    attended(c, 4)   # 100 %
    build.enrol(series, d_, "withdrawn", withdrawn_at=feb(1))  # before the first session
    build.enrol(series, e, "withdrawn", withdrawn_at=feb(12))
    attended(e, 2)   # dropped out after two: counts, not completed
    build.enrol(series, f, "waitlisted", seq=1)
    ends_in_march = build.series(feb(24), at(3, 3))
    build.enrol(ends_in_march, build.patient())
    assert d.completion_rate(february) == 50.0  # a, c of a, b, c, e


def test_it_counts_completion_below_the_boundary_as_not_completed(build, february):
    series = build.series(feb(3), feb(10), feb(17))
    sessions = list(series.sessions.order_by("starts_at"))
    p = build.patient()
    build.enrol(series, p)
    build.attend(sessions[0], p)
    build.attend(sessions[1], p)  # 2 of 3 = 66.7 %
    assert d.completion_rate(february) == 0.0


def test_it_counts_the_waitlist_at_the_end_of_the_period(build, february):
    series = build.series(feb(10))
    build.enrol(series, build.patient(), "waitlisted", enrolled_at=feb(2), seq=1)
    build.enrol(series, build.patient(), "waitlisted", enrolled_at=feb(3), seq=2)
    build.enrol(series, build.patient(), "waitlisted", enrolled_at=at(3, 1), seq=3)
    build.enrol(series, build.patient(), "enrolled", enrolled_at=feb(1))
    assert d.waitlist_length(february) == 2


# --- outcomes -------------------------------------------------------------------------------


def test_it_computes_the_12_week_follow_up_completion_rate(build, february):
    # Due in February: intake date from 2024-11-09 to 2024-12-06 (+ 84 days).
    def patient_with_followup(intake_date, *days_after):
        p = build.patient(intake_date=intake_date)
        for days in days_after:
            build.response(p, "peg", at(intake_date.month, intake_date.day,
                                        year=intake_date.year) + dt.timedelta(days=days), 4.0)
        return p

    patient_with_followup(dt.date(2024, 11, 15), 84)    # on the due day: done
    patient_with_followup(dt.date(2024, 11, 20), 71)    # 13 days early, in the window: done
    patient_with_followup(dt.date(2024, 11, 25), 60)    # too early: not done
    patient_with_followup(dt.date(2024, 12, 1))         # nothing: not done
    patient_with_followup(dt.date(2024, 12, 6), 112)    # due 28 Feb, 4 weeks late: done
    patient_with_followup(dt.date(2024, 12, 10), 84)    # due in March: not counted
    intake_only = build.patient(intake_date=dt.date(2024, 11, 12))
    build.response(intake_only, "peg", at(2, 4), 5.0, context="intake")  # not a follow-up
    assert d.followup_completion_rate_12w(february) == 50.0  # 3 of 6


def test_it_counts_peg_responders_by_a_30_percent_fall(build, february):
    peg_program(build)
    assert d.responders(february)["peg"] == 50.0  # A, D, F of A, B, C, D, F, G


@pytest.mark.parametrize(("instrument", "pairs", "expected"), [
    # PHQ-9: a fall of >= 5 points; a rise of 5 is not an improvement.
    ("phq9", [(15, 10), (15, 11), (10, 15), (20, 14), (5, 10)], 40.0),
    # GAD-7: a fall of >= 4 points.
    ("gad7", [(12, 8), (12, 9), (8, 12)], 33.3),
])
def test_it_counts_questionnaire_responders_by_points_in_the_improving_direction(
        build, february, instrument, pairs, expected):
    for baseline, latest in pairs:
        p = build.patient()
        build.response(p, instrument, at(1, 5), baseline, context="intake")
        build.response(p, instrument, feb(14), latest)
    assert d.responders(february)[instrument] == expected


def test_it_counts_promis_responders_by_3_t_points_in_each_domains_direction(build, february):
    for (pi0, pf0), (pi1, pf1) in [
        ((63.3, 40.1), (60.3, 43.1)),   # both exactly 3 better (no float rounding loss): yes
        ((60.0, 40.0), (57.1, 37.0)),   # pain 2.9 better: no; function 3 worse: no
        ((55.0, 38.0), (58.0, 40.9)),   # pain 3 worse: no; function 2.9 better: no
    ]:
        p = build.patient()
        build.response(p, "promis29", at(1, 5), pi=pi0, pf=pf0, context="intake")
        build.response(p, "promis29", feb(14), pi=pi1, pf=pf1)
    result = d.responders(february)
    assert result["promis_pain_interference"] == 33.3
    assert result["promis_physical_function"] == 33.3
    assert result["peg"] is None  # nobody answered a PEG: no rate, not 0 %


def test_it_counts_psfs_responders_by_a_mean_rise_of_2_from_the_exact_means(build, february):
    from outcomes.services import response_create

    for before, after in [
        ({"a1": 3, "a2": 4, "a3": 6}, {"a1": 5, "a2": 6, "a3": 8}),          # 4.33 -> 6.33: +2
        ({"a1": 4}, {"a1": 5}),                                              # +1: no
        ({"a1": 3, "a2": 4, "a3": 6}, {"a1": 6, "a2": 6, "a3": 6, "a4": 7}),  # 4.33 -> 6.25: no
        ({"a1": 2, "a2": 3}, {"a1": 4, "a2": 5}),                            # 2.5 -> 4.5: yes
    ]:
        p = build.patient()
        response_create(patient=p, instrument="psfs", answers=before, answered_at=at(1, 5),
                        context="intake")
        response_create(patient=p, instrument="psfs", answers=after, answered_at=feb(14))
    assert d.responders(february)["psfs"] == 50.0
    assert d.MEASURE_LABELS["psfs"] == "PSFS"


def test_it_splits_responders_by_risk_group(build, february):
    peg_program(build)
    by_risk = d.responders_by_risk_group(february)
    assert {group: row["peg"] for group, row in by_risk.items()} == {
        "low": 50.0,      # A of A, B
        "medium": 0.0,    # of C, G
        "high": 100.0,    # D, F (E has no follow-up)
    }
    assert by_risk["low"]["phq9"] is None


def test_it_splits_responders_by_the_baseline_risk_group(build, february):
    # Issue 19: a repeat intake (high -> low) must not move a responder into "low".
    p = build.patient(risk="low")
    build.intake(p, at(1, 5), "high")
    build.intake(p, feb(15), "low")
    build.response(p, "peg", at(1, 5), 8.0, context="intake")
    build.response(p, "peg", feb(20), 4.0)                # a 50 % fall: a responder
    by_risk = d.responders_by_risk_group(february)
    assert (by_risk["high"]["peg"], by_risk["low"]["peg"]) == (100.0, None)


def test_it_splits_responders_by_attendance_dose(build, february):
    patients = peg_program(build)
    series = build.series(*[at(1, day) for day in range(6, 16)], feb(25))
    sessions = list(series.sessions.order_by("starts_at"))
    for session in sessions[:2]:
        build.attend(session, patients["B"])           # 2 before the response
    build.attend(sessions[-1], patients["B"])          # 25 Feb: after B's latest response
    for session in sessions[:5]:
        build.attend(session, patients["D"])           # 5
    for session in sessions[:10]:
        build.attend(session, patients["F"])           # 10
    build.attend(sessions[0], patients["C"], "absent")  # absent: still 0
    by_dose = d.responders_by_attendance_dose(february)
    assert {bucket: row["peg"] for bucket, row in by_dose.items()} == {
        "sessions_0": 33.3,        # A of A, C, G
        "sessions_1_3": 0.0,       # B
        "sessions_4_7": 100.0,     # D
        "sessions_8_plus": 100.0,  # F
    }


def test_it_limits_patient_measures_to_patients_referred_to_the_service(build):
    patients = peg_program(build)
    for name in ("A", "B"):
        build.referral(patients[name], "psychology", at(1, 2))
    assert d.responders(scope_for(build, "psychology"))["peg"] == 50.0  # A of A, B
    assert d.responders(scope_for(build, "physio"))["peg"] is None


# --- opioids ----------------------------------------------------------------------------------


def test_it_computes_mme_means_and_shares_over_active_patients(build, february):
    def active(**mme):
        p = build.patient(**mme)
        build.referral(p, "pain_medicine", at(1, 10))  # open throughout February
        return p

    active(baseline_mme=60, current_mme=30)
    active(baseline_mme=100, current_mme=95)
    active(baseline_mme=0, current_mme=0)
    active(current_mme=50)                     # no intake dose: not in the means
    active(baseline_mme=20)                    # no latest dose: in nothing
    inactive = build.patient(baseline_mme=200, current_mme=200)
    build.referral(inactive, "pain_medicine", at(1, 2), ("declined", at(1, 15)))
    assert d.mean_mme_intake(february) == 53.3   # (60 + 100 + 0) / 3
    assert d.mean_mme_latest(february) == 41.7   # (30 + 95 + 0) / 3
    assert d.pct_on_opioids(february) == 75.0    # 30, 95, 50 of 30, 95, 0, 50
    assert d.pct_mme_50(february) == 50.0        # 95, 50 (the boundary counts)
    assert d.pct_mme_90(february) == 25.0        # 95


# --- satisfaction and safety ------------------------------------------------------------------


def test_it_computes_nps_from_each_patients_latest_answer_in_the_period(build, february):
    def answers(*pairs):
        p = build.patient()
        for when, value in pairs:
            build.response(p, "nps", when, value)

    answers((feb(5), 10))                     # promoter
    answers((feb(3), 9), (feb(20), 6))        # latest is 6: detractor
    answers((feb(7), 7))                      # passive
    answers((feb(9), 3))                      # detractor
    answers((feb(11), 8), (at(3, 3), 10))     # latest in February is 8: passive
    answers((at(1, 10), 0))                   # January only: not counted
    assert d.nps(february) == -20.0           # 100 * (1 - 2) / 5


def test_it_has_no_nps_without_answers(build, february):
    assert d.nps(february) is None


def test_it_counts_safety_alerts_open_at_the_end_of_the_period(build, february):
    p = build.patient()
    build.alert(p, feb(3), feb(4))           # acknowledged in time
    build.alert(p, feb(20), at(3, 2))        # still open on 28 Feb
    build.alert(p, feb(25))                  # never acknowledged
    build.alert(p, at(3, 2))                 # opened in March
    build.alert(p, at(1, 10), at(1, 11))     # January
    assert d.open_safety_alerts(february) == 2


@pytest.mark.parametrize(("extra", "expected"), [
    ([], 6.0),                                # 3, 6, 24 hours: the middle one
    ([(feb(14, 8), feb(14, 18))], 8.0),       # 3, 6, 10, 24: (6 + 10) / 2
])
def test_it_takes_the_median_hours_to_acknowledge(build, february, extra, expected):
    p = build.patient()
    build.alert(p, feb(3), feb(4))                         # 24 h
    build.alert(p, at(1, 31, 20), feb(1, 2))               # 6 h, acknowledged in February
    build.alert(p, feb(10, 12), feb(10, 15))               # 3 h
    build.alert(p, at(1, 20), at(1, 21))                   # acknowledged in January
    for opened, acknowledged in extra:
        build.alert(p, opened, acknowledged)
    assert d.median_hours_to_acknowledge(february) == expected


def test_it_counts_alerts_acknowledged_within_one_working_day(build, february):
    # The program works Monday-Friday 09:00-17:00 (8 h a day); February 2025 has no holiday.
    p = build.patient()
    build.alert(p, feb(7, 16), feb(10, 15, 30))  # Fri 16:00 -> Mon 15:30: 1 + 6.5 = 7.5 h: yes
    build.alert(p, feb(7, 16), feb(10, 16, 30))  # Fri 16:00 -> Mon 16:30: 1 + 7.5 = 8.5 h: no
    build.alert(p, feb(8, 10), feb(10, 17))      # Sat 10:00 -> Mon 17:00: 8 h exactly: yes
    build.alert(p, feb(26, 12))                  # still open at the end of the period: no
    build.alert(p, feb(28, 16, 30))              # 0.5 working h by the end: not known, left out
    build.alert(p, at(1, 31, 16), feb(3, 10))    # opened in January: not counted
    assert d.pct_acknowledged_within_working_day(february) == 50.0  # 2 of 4


def test_it_skips_public_holidays_when_counting_the_working_day(build):
    # Easter 2025: Good Friday 18 April and Easter Monday 21 April are holidays in England.
    build.program.holiday_country, build.program.holiday_region = "GB", "ENG"
    build.program.save(update_fields=["holiday_country", "holiday_region"])
    p = build.patient()
    build.alert(p, at(4, 17, 16), at(4, 22, 15))  # Thu 16:00 -> Tue 15:00: 1 + 6 = 7 h: yes
    april = d.Scope(dt.date(2025, 4, 1), dt.date(2025, 4, 30), now=at(5, 20))
    assert d.pct_acknowledged_within_working_day(april) == 100.0


def test_it_splits_acknowledgement_by_site(build, february):
    from patients.models import Site

    east = Site.objects.create(program=build.program, name="East", code="east")
    main = build.patient()
    build.alert(main, feb(7, 16), feb(10, 15, 30))  # 71.5 h, within
    build.alert(main, feb(7, 16), feb(10, 16, 30))  # 72.5 h, not within
    build.alert(main, feb(8, 10), feb(10, 17))      # 55 h, within
    build.alert(build.patient(site=east), feb(3, 9), feb(3, 11))  # 2 h, within
    assert d.alert_acknowledgement_by_site(february) == {
        "main": {"median_hours": 71.5, "pct_within_working_day": 66.7},
        "east": {"median_hours": 2.0, "pct_within_working_day": 100.0},
    }


# --- the whole set ----------------------------------------------------------------------------


def test_it_computes_every_metric_with_a_definition(build, february):
    peg_program(build)
    values = d.compute(february)
    assert list(values) == list(d.METRICS)
    assert set(d.definitions()) == set(values)
    assert all(len(sentence) > 30 for sentence in d.definitions().values())
    assert values["responders"]["peg"] == 50.0


def test_it_computes_in_a_fixed_number_of_queries_whatever_the_program_size(
        build, february, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    peg_program(build)
    with CaptureQueriesContext(connection) as small:
        d.compute(february)
    for _ in range(3):
        peg_program(build)
        p = build.patient()
        build.referral(p, "physio", feb(2), ("triaged", feb(4)))
        build.alert(p, feb(3), feb(4))
    with django_assert_num_queries(len(small.captured_queries)):
        d.compute(february)


# --- the SQL helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(("waits", "expected"), [([3, 1, 2], 2.0), ([4, 1, 3, 2], 2.5), ([], None)])
def test_it_agrees_on_medians_in_both_sql_forms(build, waits, expected):
    p = build.patient()
    for wait in waits:
        build.referral(p, "physio", feb(1), ("triaged", feb(1) + dt.timedelta(days=wait)))
    qs = Referral.objects.all()
    expression = DaysBetween(F("triaged_at"), F("referred_at"))
    assert median(qs, expression) == expected
    assert _median_window(qs, expression) == expected


# --- individual appointments -------------------------------------------------------------


def _appointment(patient, clinician, service, starts_at, status="attended", minutes=60,
                 referral=None):
    return Appointment.objects.create(
        patient=patient, clinician=clinician, service=Service.objects.get(code=service),
        site=Site.objects.order_by("pk").first(), referral=referral, starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=minutes), duration_minutes=minutes,
        status=status, status_reason="cancelled" if status.startswith("cancelled") else "")


@pytest.fixture
def physio_clinician(db):
    return make_user("phys", roles.CLINICIAN)


def test_the_first_attended_appointment_is_the_first_visit(build, february, physio_clinician):
    p, q = build.patient(), build.patient()
    # Treatment start typed on the referral as 20 Feb, but the first attended appointment
    # was on 11 Feb (10 days after referral): the appointment wins. A did-not-attend on
    # 4 Feb is not a visit.
    ref = build.referral(p, "physio", feb(1), ("triaged", feb(2)), ("scheduled", feb(3)),
                         ("in_treatment", feb(20)))
    _appointment(p, physio_clinician, "physio", feb(4), "did_not_attend", referral=ref)
    _appointment(p, physio_clinician, "physio", feb(11), "attended", referral=ref)
    # No appointment: the referral's own treatment start still counts (4 days).
    build.referral(q, "physio", feb(5), ("triaged", feb(6)), ("scheduled", feb(7)),
                   ("in_treatment", feb(9)))
    assert d.median_days_referral_to_first_visit(february) == 7.0  # (10 + 4) / 2


def test_it_takes_the_median_days_to_the_first_appointment(build, february, physio_clinician):
    p, q, r = build.patient(), build.patient(), build.patient()
    a = build.referral(p, "physio", feb(1), ("triaged", feb(2)), ("scheduled", feb(2)))
    _appointment(p, physio_clinician, "physio", feb(2), "cancelled_by_patient", referral=a)
    _appointment(p, physio_clinician, "physio", feb(7), "booked", referral=a)       # 6 days
    b = build.referral(q, "physio", feb(1), ("triaged", feb(2)), ("scheduled", feb(2)))
    _appointment(q, physio_clinician, "physio", feb(13), "did_not_attend", referral=b)  # 12
    c = build.referral(r, "physio", feb(20), ("triaged", feb(21)), ("scheduled", feb(21)))
    _appointment(r, physio_clinician, "physio", at(3, 3), "booked", referral=c)  # March: out
    assert d.median_days_referral_to_first_appointment(february) == 9.0


def test_it_computes_the_did_not_attend_rate_by_service(build, february, physio_clinician):
    p = build.patient()
    for day, status in [(3, "attended"), (4, "did_not_attend"), (5, "attended"),
                        (6, "attended"), (7, "cancelled_by_clinic"), (10, "booked")]:
        _appointment(p, physio_clinician, "physio", feb(day), status)
    _appointment(p, physio_clinician, "psychology", feb(11), "did_not_attend")
    _appointment(p, physio_clinician, "psychology", at(3, 2), "attended")  # March
    assert d.dna_rate_by_service(february) == {"physio": 25.0, "psychology": 100.0}


def test_it_computes_booked_over_available_hours_per_clinician(build, february,
                                                               physio_clinician):
    Program.objects.update(holiday_country="GB", holiday_region="ENG")
    site = Site.objects.order_by("pk").first()
    WeeklyAvailability.objects.create(clinician=physio_clinician, site=site, weekday=0,
                                      start_time=dt.time(9), end_time=dt.time(13))
    # Four Mondays in February 2025 (3, 10, 17, 24), no English holiday: 16 hours available.
    p = build.patient()
    _appointment(p, physio_clinician, "physio", feb(3, 9), "attended", minutes=60)
    _appointment(p, physio_clinician, "physio", feb(10, 9), "did_not_attend", minutes=60)
    _appointment(p, physio_clinician, "physio", feb(11, 9), "booked", minutes=120)  # override
    _appointment(p, physio_clinician, "physio", feb(17, 9), "cancelled_by_patient", minutes=60)
    assert d.booked_hours_ratio(february) == {"phys": 25.0}  # 4 h of 16 h
