"""The reminder kinds outcomes schedules (registered by outcomes.apps):

- questionnaire_due: "questionnaire_link" / QuestionnaireLink.pk / "0d", "3d", "7d"
  (outcomes.services.questionnaire_link_create);
- safety_alert, alert_escalation: "safety_alert" / SafetyAlert.pk, by email and by SMS to
  the staff member (alert_notify: offsets "0", "0-sms"; alert_escalate: "L<level>",
  "L<level>-sms").
"""

from django.conf import settings

from reminders.kinds import Kind, absolute
from reminders.models import Reminder
from reminders.quiet_hours import zone

from .links import link_url
from .models import QuestionnaireLink, SafetyAlert

R = Reminder.Reason


class QuestionnaireDueKind(Kind):
    """On the due day, then 3 and 7 days later, while the patient's link is still unused
    and unexpired."""

    code = Reminder.Kind.QUESTIONNAIRE_DUE
    patient_directed = True
    subject = "A short questionnaire from your care team"

    def prefetch(self, rows, now):
        """{link id: (link, its URL)}: outcomes rebuilds the URL from the link's stored
        seed (the token itself is never stored)."""
        links = QuestionnaireLink.objects.in_bulk({r.target_id for r in rows if r.target_id})
        return {pk: (link, link_url(link)) for pk, link in links.items()}

    def eligibility(self, row, data, now):
        link, url = data.get(row.target_id, (None, None))
        if link is None or not link.is_open(now) or not url:
            return R.NO_LONGER_NEEDED
        return ""

    def context(self, row, data, now):
        link, url = data[row.target_id]
        tz = zone(row.patient.timezone if row.patient else settings.TIME_ZONE)
        return {"url": url, "expires_on": link.expires_at.astimezone(tz)}


class _OpenAlertKind(Kind):
    """Sent while the safety alert is still open (not acknowledged)."""

    def prefetch(self, rows, now):
        return SafetyAlert.objects.only("id", "status").in_bulk(
            {r.target_id for r in rows if r.target_id})

    def eligibility(self, row, data, now):
        alert = data.get(row.target_id)
        if alert is None or alert.status != SafetyAlert.Status.OPEN:
            return R.NO_LONGER_NEEDED
        return ""

    def context(self, row, data, now):
        return {"url": absolute(f"/alerts/{row.target_id}/")}


class SafetyAlertKind(_OpenAlertKind):
    code = Reminder.Kind.SAFETY_ALERT
    subject = "IPM: a safety alert needs your review"


class AlertEscalationKind(_OpenAlertKind):
    code = Reminder.Kind.ALERT_ESCALATION
    subject = "IPM: an unacknowledged safety alert has been escalated to you"
