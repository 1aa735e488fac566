"""The `appointment` reminder kind (48 h and 2 h before, docs/product.md §8), registered with the
reminders app's kind registry from AppointmentsConfig.ready().

Contract: kind "appointment", target_type "appointment", target_id Appointment.pk, offsets
"48h" and "2h" (scheduled by appointments.services). Still needed at send time while the
appointment is booked and has not started. The message carries the time, length, how
(in person, phone, video) and the site's name: no clinician, service or clinical detail.
"""

from django.conf import settings

from reminders.kinds import Kind
from reminders.models import Reminder
from reminders.quiet_hours import zone

from . import rules
from .models import Appointment

KIND = Reminder.Kind.APPOINTMENT
TARGET_TYPE = "appointment"
HOW = {"in_person": "in person", "phone": "by phone", "video": "by video"}


class AppointmentKind(Kind):
    code = KIND
    patient_directed = True
    subject = "Reminder: your appointment"

    def prefetch(self, rows, now):
        return Appointment.objects.select_related("site").in_bulk(
            {r.target_id for r in rows if r.target_id is not None})

    def eligibility(self, row, data, now):
        appt = data.get(row.target_id)
        if appt is None or appt.status != rules.BOOKED or appt.starts_at <= now:
            return Reminder.Reason.NO_LONGER_NEEDED
        return ""

    def context(self, row, data, now):
        appt = data[row.target_id]
        tz = zone(row.patient.timezone if row.patient else settings.TIME_ZONE)
        starts = appt.starts_at.astimezone(tz)
        return {"when": f"{starts:%A} {starts.day} {starts:%B} at {starts:%H:%M}",
                "duration_minutes": appt.duration_minutes, "how": HOW[appt.mode],
                "where": appt.site.name if appt.mode == "in_person" else ""}
