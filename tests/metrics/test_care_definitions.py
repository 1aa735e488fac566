"""Care-management metrics (SPEC §9) on hand-built rows; the answer is worked out beside each
case. The period is February 2025, "now" 20 March 2025 (see conftest)."""

import datetime as dt

import pytest

from care.models import Contact, StepDecision
from metrics import definitions as d

from .conftest import at, feb

pytestmark = pytest.mark.django_db


def contact(patient, when, minutes=10, outcome="reached"):
    return Contact.objects.create(patient=patient, kind="phone", minutes=minutes,
                                  outcome=outcome, contacted_at=when)


def step_up(patient, when, to=2):
    return StepDecision.objects.create(patient=patient, from_step=to - 1, to_step=to,
                                       direction="up", reason="not improving", decided_at=when)


def in_care(build, **kw):
    p = build.patient(**kw)
    p.step = 2
    p.save(update_fields=["step"])
    return p


def test_it_counts_the_patients_in_care_management_reached_in_the_last_30_days(build, february):
    reached = in_care(build)
    contact(reached, feb(20))                          # within Jan 30 - Feb 28: counts
    too_early = in_care(build)
    contact(too_early, at(1, 29, 23))                  # 30 days before Mar 1 is Jan 30
    no_answer = in_care(build)
    contact(no_answer, feb(25), outcome="no_answer")   # an attempt, not reached
    in_care(build)                                     # never contacted
    step_one = build.patient()
    contact(step_one, feb(10))                         # step 1, no care manager: not counted
    # 1 of 4 patients in care management
    assert d.pct_contacted_30d(february) == 25.0


def test_it_has_no_contacted_share_without_patients_in_care_management(build, february):
    assert d.pct_contacted_30d(february) is None


def test_it_takes_the_median_of_minutes_per_patient_per_month(build, february):
    a, b, c = build.patient(), build.patient(), build.patient()
    contact(a, feb(2), 20)
    contact(a, feb(20), 25)      # a: 45 in February
    contact(b, feb(5), 10)       # b: 10
    contact(c, feb(7), 60)       # c: 60
    contact(c, at(3, 2), 100)    # March: outside the period
    contact(b, at(1, 31), 100)   # January: outside the period
    # {10, 45, 60} → 45
    assert d.median_care_minutes_per_month(february) == 45.0
    contact(build.patient(), feb(9), 30)
    # {10, 30, 45, 60} → (30 + 45) / 2
    assert d.median_care_minutes_per_month(february) == 37.5


def test_it_counts_step_ups_within_two_weeks_of_not_improving(build, february):
    intake = dt.date(2024, 11, 1)        # 12 weeks later: 24 January 2025
    quick = build.patient(intake_date=intake)
    build.response(quick, "peg", at(11, 1, year=2024), 6.0)
    build.response(quick, "peg", feb(3), 5.0)      # 5/6: not a 30 % fall → flagged Feb 3
    step_up(quick, feb(10))                        # 7 days later: counts
    late = build.patient(intake_date=intake)
    build.response(late, "peg", at(11, 1, year=2024), 6.0)
    build.response(late, "peg", feb(3), 6.0)
    step_up(late, feb(18))                         # 15 days later: too late
    before = build.patient(intake_date=intake)
    build.response(before, "peg", at(11, 1, year=2024), 6.0)
    build.response(before, "peg", feb(3), 6.0)
    step_up(before, feb(2))                        # before the flag: not after it
    improved = build.patient(intake_date=intake)
    build.response(improved, "peg", at(11, 1, year=2024), 6.0)
    build.response(improved, "peg", feb(3), 4.0)   # exactly -33 %: improved, never flagged
    early = build.patient(intake_date=dt.date(2025, 1, 1))
    build.response(early, "peg", at(1, 1), 6.0)
    build.response(early, "peg", feb(3), 6.0)      # 5 weeks: the rule waits for 12
    # flagged: quick, late, before → 1 of 3
    assert d.pct_step_up_after_not_improving_2w(february) == 33.3


def test_an_exact_30_percent_fall_is_an_improvement_not_a_flag(build, february):
    p = build.patient(intake_date=dt.date(2024, 11, 1))
    build.response(p, "peg", at(11, 1, year=2024), 6.67)   # item sum 20
    build.response(p, "peg", feb(3), 4.67)                 # item sum 14: exactly -30 %
    assert d.pct_step_up_after_not_improving_2w(february) is None


def test_a_baseline_of_zero_that_stays_zero_is_flagged_as_outcomes_progress_does(build,
                                                                                  february):
    """PEG 0 -> 0 at 12 weeks: no improvement is possible, so outcomes.progress flags the
    patient not improving; the metric counts them too."""
    from outcomes.progress import peg_flags

    p = build.patient(intake_date=dt.date(2024, 11, 1))
    build.response(p, "peg", at(11, 1, year=2024), 0.0)
    build.response(p, "peg", feb(3), 0.0)
    flags = peg_flags(intake_date=dt.date(2024, 11, 1),
                      baseline=(dt.date(2024, 11, 1), {"score": 0.0}),
                      latest=(dt.date(2025, 2, 3), {"score": 0.0}))
    assert flags.not_improving
    assert d.pct_step_up_after_not_improving_2w(february) == 0.0  # flagged, not stepped up
    step_up(p, feb(10))
    assert d.pct_step_up_after_not_improving_2w(february) == 100.0


needs_psfs = pytest.mark.skipif("psfs" not in __import__("outcomes.instruments").instruments.CODES,
                                reason="the psfs instrument lands from the instruments branch")


@needs_psfs
def test_it_counts_psfs_responders_by_a_mean_rise_of_two(build, february):
    up = build.patient()
    build.response(up, "psfs", at(1, 5), 3.0)
    build.response(up, "psfs", feb(5), 4.0)
    build.response(up, "psfs", feb(20), 5.0)        # latest in Feb: +2 → responder
    small = build.patient()
    build.response(small, "psfs", at(1, 5), 3.33)
    build.response(small, "psfs", feb(5), 5.25)     # +1.92: not
    only_first = build.patient()
    build.response(only_first, "psfs", feb(5), 2.0)  # nothing to compare
    # 1 of 2
    assert d.psfs_responders(february) == 50.0
