"""Demo appointments for `manage.py demo_data`: the demo clinician's weekly hours (Monday to
Friday, 09:00-17:00 at the first site, physiotherapy on Thursday afternoons), a week of
leave next month, a few past visits (attended with a signed note, one missed) and upcoming
bookings for the triaged referrals, so the calendar, the worklist and the dashboard have
something to show. Everything goes through the services; past visits are booked and marked
with the clock they would have had (`now=`)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from referrals import transitions as rt
from referrals.models import Referral, Service
from reminders.services import reminders_cancel

from . import services
from .models import Appointment

HOURS = [(d, "09:00", "17:00", None) for d in (0, 1, 2, 4)] + [(3, "09:00", "12:30", None)]


def _one(value):
    return value[0] if isinstance(value, list | tuple) else value


def _on(day, hour, minute, tz):
    return datetime.combine(day, time(hour, minute), tz)


def _weekday_after(day, n):
    """The n-th weekday (Mon-Fri) after `day`."""
    while n:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def populate(ctx: dict) -> None:
    if Appointment.objects.exists():
        return
    users = ctx.get("users", {})
    clinician, coordinator = _one(users.get("clinician")), _one(users.get("coordinator"))
    program = ctx.get("program")
    if clinician is None or program is None:
        return
    site = program.sites.order_by("pk").first()
    physio = Service.objects.get(code="physio")
    services.weekly_availability_set(
        clinician=clinician, site=site, actor=coordinator,
        windows=[(d, s, e, None) for d, s, e, _ in HOURS] + [(3, "13:30", "17:00", physio)])
    tz = ZoneInfo(site.time_zone)
    today = timezone.now().astimezone(tz).date()
    leave_start = _on(today + timedelta(days=35), 0, 0, tz)
    services.availability_exception_add(clinician=clinician, starts_at=leave_start,
                                        ends_at=leave_start + timedelta(days=5), actor=coordinator,
                                        reason="Annual leave")

    open_refs = list(Referral.objects.filter(status__in=(rt.TRIAGED, rt.SCHEDULED),
                                             service__is_group_based=False)
                     .select_related("patient", "service").order_by("referred_at", "pk"))
    # Past visits: one attended with a signed note (treatment starts), one missed.
    past_day = today - timedelta(days=7)
    while past_day.weekday() >= 3:
        past_day -= timedelta(days=1)
    for i, referral in enumerate(open_refs[:2]):
        starts = _on(past_day, 10 + 2 * i, 0, tz)
        appt = services.appointment_book(
            patient=referral.patient, clinician=clinician, service=referral.service, site=site,
            referral=referral, starts_at=starts, duration_minutes=45, actor=coordinator,
            now=starts - timedelta(days=10))
        reminders_cancel(target_type="appointment", target_id=appt.pk)  # long past
        if i == 0:
            services.appointment_status_set(appointment=appt, status="attended",
                                            actor=clinician, now=starts + timedelta(minutes=50))
            note = services.visit_note_save(
                appointment=appt, actor=clinician, minutes=45,
                subjective="Back pain 6/10, worse after sitting; sleeping 5 hours.",
                objective="Lumbar flexion limited to mid-shin; straight-leg raise negative.",
                assessment="Non-specific low back pain, medium risk; deconditioned.",
                plan="Graded walking programme; review in two weeks.")
            services.visit_note_sign(note=note, actor=clinician)
        else:
            services.appointment_status_set(appointment=appt, status="did_not_attend",
                                            actor=coordinator, now=starts + timedelta(hours=1))
    # Upcoming bookings for the others, on the next weekdays.
    for i, referral in enumerate(open_refs[2:6]):
        day = _weekday_after(today, 1 + i)
        services.appointment_book(
            patient=referral.patient, clinician=clinician, service=referral.service, site=site,
            referral=referral, starts_at=_on(day, *((9, 30), (10, 30), (11, 15), (9, 0))[i], tz),
            duration_minutes=45,
            mode=("in_person", "video", "phone", "in_person")[i], actor=coordinator)
