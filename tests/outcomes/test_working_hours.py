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


# --- The program's working calendar (per-weekday hours, public holidays, 24/7) -----------

from outcomes.working_hours import WorkingCalendar  # noqa: E402

NINE_TO_FIVE = {"mon": ["09:00", "17:00"], "tue": ["09:00", "17:00"], "wed": ["09:00", "17:00"],
                "thu": ["09:00", "17:00"], "fri": ["09:00", "13:00"], "sat": None, "sun": None}
ENGLAND = WorkingCalendar.from_settings(time_zone="Europe/London", working_hours=NINE_TO_FIVE,
                                        holiday_country="GB", holiday_region="ENG")
SCOTLAND = WorkingCalendar.from_settings(time_zone="Europe/London", working_hours=NINE_TO_FIVE,
                                         holiday_country="GB", holiday_region="SCT")
AROUND_THE_CLOCK = WorkingCalendar.from_settings(time_zone="Europe/London",
                                                 working_hours=NINE_TO_FIVE, always=True)


@pytest.mark.parametrize(("calendar", "opened", "due"), [
    # Tuesday 15:00: 2 h today, 2 h on Wednesday from 09:00
    (ENGLAND, at(2026, 3, 3, 15, 0), at(2026, 3, 4, 11, 0)),
    # Friday closes at 13:00: 12:00 + 4 h runs 1 h Friday, 3 h Monday
    (ENGLAND, at(2026, 3, 6, 12, 0), at(2026, 3, 9, 12, 0)),
    # Weekend: Saturday counts nothing, Monday from 09:00
    (ENGLAND, at(2026, 3, 7, 10, 0), at(2026, 3, 9, 13, 0)),
    # Good Friday (3 Apr) and Easter Monday (6 Apr 2026) skipped in England: Thursday 16:00
    # + 4 h = 1 h Thursday, then Tuesday 09:00 + 3 h
    (ENGLAND, at(2026, 4, 2, 16, 0), at(2026, 4, 7, 12, 0)),
    # Scotland has Good Friday but no Easter Monday holiday: Monday 09:00 + 3 h
    (SCOTLAND, at(2026, 4, 2, 16, 0), at(2026, 4, 6, 12, 0)),
    # Christmas: Friday 25 and the observed Boxing Day Monday 28 Dec 2026 are closed
    (ENGLAND, at(2026, 12, 24, 16, 0), at(2026, 12, 29, 12, 0)),
    # DST (clocks go forward 29 Mar 2026): Friday 12:00 + 4 h = Monday 12:00 BST
    (ENGLAND, at(2026, 3, 27, 12, 0), at(2026, 3, 30, 12, 0)),
    # 24/7: clock hours, weekend and holidays included
    (AROUND_THE_CLOCK, at(2026, 4, 3, 22, 0), at(2026, 4, 4, 2, 0)),
    # 24/7 across the DST change: 00:30 GMT + 4 real hours = 05:30 BST
    (AROUND_THE_CLOCK, at(2026, 3, 29, 0, 30), at(2026, 3, 29, 5, 30)),
])
def test_it_escalates_on_the_programs_calendar(calendar, opened, due):
    assert add_working_hours(opened, 4, calendar) == due
    assert working_hours_between(opened, due, calendar) == pytest.approx(4)


def test_it_counts_no_working_time_on_a_public_holiday():
    # Easter Monday 2026 in England: a whole working day that is not worked.
    assert working_hours_between(at(2026, 4, 6, 0, 0), at(2026, 4, 7, 0, 0), ENGLAND) == 0
    assert working_hours_between(at(2026, 4, 6, 0, 0), at(2026, 4, 7, 0, 0), SCOTLAND) == 8


def test_it_refuses_a_calendar_without_working_hours():
    closed = WorkingCalendar.from_settings(time_zone="Europe/London",
                                           working_hours={d: None for d in NINE_TO_FIVE})
    with pytest.raises(ValueError):
        add_working_hours(at(2026, 3, 3, 9, 0), 4, closed)
