"""The reminder kind visits schedules (registered by visits.apps): group_session, targeting
"group_session" / GroupSession.pk with offsets "48h" and "2h" (visits/session_reminders.py)."""

from django.conf import settings

from reminders.kinds import Kind
from reminders.models import Reminder
from reminders.quiet_hours import zone

from .models import Enrolment, GroupSession

R = Reminder.Reason


class GroupSessionKind(Kind):
    """48 h and 2 h before a group session: still scheduled, not yet started, and the
    patient still enrolled in the series."""

    code = Reminder.Kind.GROUP_SESSION
    patient_directed = True
    subject = "Reminder: your group session"

    def prefetch(self, rows, now):
        sessions = GroupSession.objects.select_related("series").in_bulk(
            {r.target_id for r in rows if r.target_id is not None})
        series_ids = {s.series_id for s in sessions.values()}
        enrolled = dict(
            ((e.series_id, e.patient_id), e.status) for e in Enrolment.objects.filter(
                series_id__in=series_ids, patient_id__in={r.patient_id for r in rows}
            ).only("series_id", "patient_id", "status"))
        return {"sessions": sessions, "enrolments": enrolled}

    def eligibility(self, row, data, now):
        session = data["sessions"].get(row.target_id)
        if session is None or session.status != GroupSession.Status.SCHEDULED:
            return R.NO_LONGER_NEEDED
        if session.starts_at <= now:
            return R.NO_LONGER_NEEDED
        if data["enrolments"].get((session.series_id, row.patient_id)) != Enrolment.Status.ENROLLED:
            return R.NO_LONGER_NEEDED
        return ""

    def context(self, row, data, now):
        session = data["sessions"][row.target_id]
        tz = zone(row.patient.timezone if row.patient else settings.TIME_ZONE)
        starts = session.starts_at.astimezone(tz)
        return {"starts_at": starts, "duration_minutes": session.duration_minutes,
                "location": session.series.location, "video_link": session.series.video_link,
                "when": f"{starts:%A} {starts.day} {starts:%B} at {starts:%H:%M}"}
