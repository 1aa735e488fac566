"""Demo group programmes for `manage.py demo_data`: one series running (three sessions
held, attendance marked, three to come) and one upcoming series that is full with a
waitlist. Everything goes through the services, as a coordinator would do it."""

from datetime import timedelta

from django.utils import timezone

from referrals.models import Service

from . import services
from .models import GroupSeries
from .recurrence import weekly_sessions

RUNNING = "Living well with pain (autumn group)"
UPCOMING = "Yoga for back pain"

# Attendance for the three held sessions, per person, cycling: most people come.
PATTERNS = [
    ["present", "present", "present"],
    ["present", "absent", "present"],
    ["present", "present", "late_cancel"],
    ["excused", "present", "present"],
    ["present", "present", "present"],
    ["absent", "absent", "present"],
]


def _one(value):
    return value[0] if isinstance(value, list | tuple) else value


def _at(days: int, hour: int):
    local = timezone.localtime() + timedelta(days=days)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def populate(ctx: dict) -> None:
    if GroupSeries.objects.filter(name__in=[RUNNING, UPCOMING]).exists():
        return
    users = ctx["users"]
    clinician, coordinator = _one(users["clinician"]), _one(users["coordinator"])
    patients = list(ctx.get("patients", []))
    if not patients:
        return
    tz = timezone.get_current_timezone()

    running = services.series_create(
        name=RUNNING, service=Service.objects.get(code="group_programme"), capacity=8,
        lead_clinician=clinician, facilitators=[coordinator],
        location="Pain Centre, Room 4", actor=coordinator,
        sessions=weekly_sessions(first_start=_at(-20, 10), weeks=6, duration_minutes=120, tz=tz))
    members = patients[:6]
    for patient in members:
        services.enrolment_create(series=running, patient=patient, actor=coordinator)
    held = list(running.sessions.filter(starts_at__lt=timezone.now()).order_by("starts_at"))
    for i, patient in enumerate(members):
        for session, status in zip(held, PATTERNS[i % len(PATTERNS)], strict=False):
            services.attendance_mark(session=session, patient=patient, status=status,
                                     actor=coordinator)

    upcoming = services.series_create(
        name=UPCOMING, service=Service.objects.get(code="yoga"), capacity=4,
        lead_clinician=clinician, facilitators=[coordinator],
        video_link="https://video.example.org/ipm-yoga", location="Community hall",
        actor=coordinator,
        sessions=weekly_sessions(first_start=_at(5, 18), weeks=6, duration_minutes=75, tz=tz))
    others = patients[6:12] if len(patients) >= 12 else patients[-6:]
    for patient in others:
        services.enrolment_create(series=upcoming, patient=patient, actor=coordinator)
