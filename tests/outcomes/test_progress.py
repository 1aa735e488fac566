from datetime import date, timedelta

import pytest

from outcomes.instruments import score_response
from outcomes.progress import peg_flags

INTAKE = date(2026, 1, 5)


def peg(a, b, c):
    return score_response("peg", {"q1": a, "q2": b, "q3": c}).scores


BASELINE = (INTAKE, peg(8, 8, 8))          # 8.0
SAME = peg(7, 8, 8)                         # 7.67: -4 %
BETTER = peg(5, 6, 6)                       # 5.67: -29 % ... not enough
MUCH_BETTER = peg(4, 6, 6)                  # 5.33: -33 %


@pytest.mark.parametrize(("weeks", "days", "not_improving"), [
    (11, 6, False),
    (12, 0, True),
    (26, 0, True),
])
def test_it_flags_not_improving_only_from_twelve_weeks(weeks, days, not_improving):
    latest = (INTAKE + timedelta(weeks=weeks, days=days), SAME)
    flags = peg_flags(intake_date=INTAKE, baseline=BASELINE, latest=latest)
    assert flags.not_improving is not_improving
    assert flags.responder is False


def test_it_needs_a_thirty_percent_fall_to_call_a_responder():
    later = INTAKE + timedelta(weeks=12)
    assert peg_flags(intake_date=INTAKE, baseline=BASELINE, latest=(later, BETTER)).not_improving
    flags = peg_flags(intake_date=INTAKE, baseline=BASELINE, latest=(later, MUCH_BETTER))
    assert flags.responder and not flags.not_improving


def test_it_judges_nothing_before_a_follow_up():
    assert peg_flags(intake_date=INTAKE, baseline=BASELINE, latest=None) == peg_flags(
        intake_date=None, baseline=None, latest=None)


def test_it_counts_weeks_from_the_baseline_without_an_intake_date():
    latest = (INTAKE + timedelta(weeks=12), SAME)
    assert peg_flags(intake_date=None, baseline=BASELINE, latest=latest).not_improving
