from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from outcomes.working_hours import add_working_hours, working_hours_between

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def at(*args, tz=LONDON):
    return datetime(*args, tzinfo=tz)


@pytest.mark.parametrize(("opened", "due"), [
    (at(2026, 3, 3, 9, 0), at(2026, 3, 3, 13, 0)),      # Tuesday morning: same afternoon
    (at(2026, 3, 3, 16, 0), at(2026, 3, 4, 10, 0)),     # Tuesday 16:00: 2 h today, 2 h tomorrow
    (at(2026, 3, 3, 22, 0), at(2026, 3, 4, 12, 0)),     # Tuesday evening: from 08:00 Wednesday
    (at(2026, 3, 4, 6, 30), at(2026, 3, 4, 12, 0)),     # before the day starts
    (at(2026, 3, 6, 17, 0), at(2026, 3, 9, 11, 0)),     # Friday 17:00: across the weekend
    (at(2026, 3, 7, 11, 0), at(2026, 3, 9, 12, 0)),     # Saturday: Monday 08:00 + 4 h
    (at(2026, 3, 8, 23, 59), at(2026, 3, 9, 12, 0)),    # Sunday night
    (at(2026, 3, 6, 18, 0), at(2026, 3, 9, 12, 0)),     # Friday at closing time exactly
])
def test_it_escalates_after_four_working_hours_across_evenings_and_weekends(opened, due):
    assert add_working_hours(opened, 4, LONDON) == due
    assert working_hours_between(opened, due, LONDON) == pytest.approx(4)


def test_it_counts_no_working_time_over_a_weekend():
    assert working_hours_between(at(2026, 3, 6, 18, 0), at(2026, 3, 9, 8, 0), LONDON) == 0
    assert working_hours_between(at(2026, 3, 6, 17, 0), at(2026, 3, 9, 9, 0), LONDON) == 2


def test_it_keeps_wall_clock_hours_on_the_day_clocks_change():
    # UK clocks go forward on Sunday 29 March 2026; Friday 17:00 + 4 h = Monday 11:00 BST.
    due = add_working_hours(at(2026, 3, 27, 17, 0), 4, LONDON)
    assert due.astimezone(LONDON).hour == 11
    assert due.astimezone(LONDON).day == 30


def test_it_uses_the_program_time_zone():
    # 14:00 UTC on a Friday is 09:00 in New York: 4 working hours end at 13:00 there,
    # while in London it is already 14:00, leaving 4 h until 18:00.
    opened = datetime(2026, 2, 13, 14, 0, tzinfo=ZoneInfo("UTC"))
    assert add_working_hours(opened, 4, NEW_YORK) == at(2026, 2, 13, 13, 0, tz=NEW_YORK)
    assert add_working_hours(opened, 4, LONDON) == at(2026, 2, 13, 18, 0)


def test_it_honours_other_working_hours_and_longer_delays():
    assert add_working_hours(at(2026, 3, 3, 9, 0), 4, LONDON, (9, 12)) == at(2026, 3, 4, 10, 0)
    # 50 working hours are one working week: Monday 08:00 -> Friday 18:00.
    assert add_working_hours(at(2026, 3, 2, 8, 0), 50, LONDON) == at(2026, 3, 6, 18, 0)


def test_it_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        add_working_hours(datetime(2026, 3, 3, 9, 0), 4, LONDON)
