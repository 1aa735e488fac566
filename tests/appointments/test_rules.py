"""The pure appointment rules: status changes, free slots and availability."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from appointments import rules
from appointments.rules import Span, Window

T0 = datetime(2030, 1, 8, 10, 0, tzinfo=UTC)  # a Tuesday


def at(h, m=0, day=8):
    return datetime(2030, 1, day, h, m, tzinfo=UTC)


@pytest.mark.parametrize(("current", "to", "now", "reason", "refusal"), [
    ("booked", "attended", T0 - timedelta(minutes=15), "", None),
    ("booked", "attended", T0 - timedelta(minutes=16), "", rules.TOO_EARLY),
    ("booked", "did_not_attend", T0 + timedelta(hours=1), "", None),
    ("booked", "did_not_attend", T0 - timedelta(hours=1), "", rules.TOO_EARLY),
    ("booked", "cancelled_by_patient", T0 - timedelta(days=2), "Unwell", None),
    ("booked", "cancelled_by_clinic", T0 - timedelta(days=2), "", rules.REASON_MISSING),
    ("attended", "did_not_attend", T0, "", rules.NOT_ALLOWED),
    ("cancelled_by_patient", "booked", T0, "", rules.UNKNOWN),
    ("did_not_attend", "attended", T0, "", rules.NOT_ALLOWED),
    ("booked", "booked", T0, "", rules.UNKNOWN),
    ("booked", "no_show", T0, "", rules.UNKNOWN),
])
def test_it_checks_status_changes(current, to, now, reason, refusal):
    if refusal is None:
        rules.check_status_change(current=current, to=to, starts_at=T0, now=now, reason=reason)
    else:
        with pytest.raises(rules.StatusRefused) as exc:
            rules.check_status_change(current=current, to=to, starts_at=T0, now=now,
                                      reason=reason)
        assert exc.value.code == refusal


def test_it_packs_slots_and_steps_over_busy_time():
    spans = [Span(at(9), at(12))]
    busy = [Span(at(10), at(10, 30))]
    slots = rules.free_slots(spans=spans, busy=busy, minutes=45)
    assert [(s.start.hour, s.start.minute) for s in slots] == [(9, 0), (10, 30), (11, 15)]


def test_back_to_back_is_not_an_overlap():
    assert not Span(at(9), at(10)).overlaps(Span(at(10), at(11)))
    assert Span(at(9), at(10, 1)).overlaps(Span(at(10), at(11)))


def test_it_hides_slots_before_now():
    slots = rules.free_slots(spans=[Span(at(9), at(11))], busy=[], minutes=30,
                             not_before=at(9, 45))
    assert [s.start for s in slots] == [at(10), at(10, 30)]


def test_it_places_weekly_windows_in_the_site_zone_and_cuts_leave_and_holidays():
    windows = [Window(weekday=1, start=time(9), end=time(17), site_id=1,
                      time_zone="America/New_York")]
    spans = rules.open_spans(windows=windows, start=date(2030, 1, 7), end=date(2030, 1, 15),
                             leave=[Span(at(14, day=8), at(16, day=8))],
                             holidays=[date(2030, 1, 15)])
    # Tuesday 8 Jan 09:00-17:00 New York is 14:00-22:00 UTC; leave cuts 14:00-16:00 UTC.
    assert spans == [Span(at(16, day=8), at(22, day=8))]


def test_it_keeps_service_windows_for_their_service():
    general = Window(weekday=1, start=time(9), end=time(12), site_id=1)
    physio = Window(weekday=1, start=time(13), end=time(17), site_id=1, service_id=7)
    spans = rules.open_spans(windows=[general, physio], start=date(2030, 1, 8),
                             end=date(2030, 1, 8), service_id=8)
    assert spans == [Span(at(9), at(12))]


def test_within_needs_one_span_to_hold_the_whole_booking():
    spans = [Span(at(9), at(10)), Span(at(10), at(11))]
    assert rules.within(spans, Span(at(9), at(10)))
    assert not rules.within(spans, Span(at(9, 30), at(10, 30)))


def test_it_gives_initials_only():
    assert rules.initials("Maya", "Patel") == "M.P."
    assert rules.initials("", "", "mp42") == "M."


def test_back_to_back_windows_hold_a_booking_across_them():
    windows = [Window(weekday=1, start=time(9), end=time(10), site_id=1),
               Window(weekday=1, start=time(10), end=time(11), site_id=1)]
    spans = rules.open_spans(windows=windows, start=date(2030, 1, 8), end=date(2030, 1, 8))
    assert spans == [Span(at(9), at(11))]
    assert rules.within(spans, Span(at(9, 30), at(10, 30)))
