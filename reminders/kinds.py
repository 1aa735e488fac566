"""The reminder kinds: who each one goes to, the check re-run at send time, and its message.

Each kind is a small class registered in `KINDS`. The dispatcher (reminders/dispatch.py)
calls, for a claimed batch:

- `prefetch(rows, now)` once per kind: load the targets of all rows in a few queries and
  return whatever `eligibility` and `context` need (no query per row);
- `eligibility(row, data, now)`: "" when the reminder is still needed, else a reason code;
- `message(row, data, now)`: subject, plain-text and HTML email bodies, SMS text, rendered
  from templates/reminders/{email,sms}/<kind>.*.

Patient-directed kinds go to the patient on the preferred channel, only with consent, and
carry the one-click stop link. Staff-directed kinds go by email to `recipient_user`.
Bodies never carry clinical detail (scores, diagnoses, instrument names, programme names):
only times, places and links behind a login or a single-use token.

Contract for the features that schedule reminders (target_type / target_id / offset):
- group_session: "group_session" / GroupSession.pk / "48h" or "2h"
- questionnaire_due: "questionnaire_link" / outcomes.QuestionnaireLink.pk / "0d", "3d", "7d"
- safety_alert, alert_escalation: "safety_alert" / SafetyAlert.pk
- sla_digest: "sla_digest" / the day as yyyymmdd (one digest per coordinator per day)
- consent_revoked: "patient" / Patient.pk (scheduled by reminders.services)
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.template.loader import render_to_string

from .models import Reminder
from .quiet_hours import zone

R = Reminder.Reason


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    sms: str


@dataclass(frozen=True)
class Recipient:
    channel: str = ""
    address: str = ""
    reason: str = ""  # set when the reminder cannot go to anyone


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def valid_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def valid_phone(value: str) -> bool:
    from patients.models import PHONE_E164

    try:
        PHONE_E164(value)
    except ValidationError:
        return False
    return True


class Kind:
    code: str = ""
    patient_directed: bool = False
    subject: str = "A message from your care team"

    # --- who -----------------------------------------------------------------------------
    def recipient(self, row: Reminder) -> Recipient:
        return patient_recipient(row) if self.patient_directed else staff_recipient(row)

    # --- whether -------------------------------------------------------------------------
    def prefetch(self, rows: list[Reminder], now) -> object:
        return None

    def eligibility(self, row: Reminder, data, now) -> str:
        return ""

    # --- what ----------------------------------------------------------------------------
    def context(self, row: Reminder, data, now) -> dict:
        return {}

    def message(self, row: Reminder, data, now, channel: str = Reminder.Channel.EMAIL) -> Message:
        """The message for one channel: subject and both email bodies, or the SMS text."""
        ctx = {"reminder": row, "site_url": settings.SITE_URL.rstrip("/"),
               **self.context(row, data, now)}
        if self.patient_directed and row.patient_id:
            from .tokens import stop_url

            ctx["stop_url"] = stop_url(row.patient_id)
        else:
            user = row.recipient_user
            ctx["recipient_name"] = (user.get_full_name() or user.username) if user else ""
        if channel == Reminder.Channel.SMS:
            sms = render_to_string(f"reminders/sms/{self.code}.txt", ctx).strip()
            return Message(subject=self.subject, text="", html="", sms=sms)
        base = f"reminders/email/{self.code}"
        return Message(subject=self.subject, text=render_to_string(f"{base}.txt", ctx),
                       html=render_to_string(f"{base}.html", ctx), sms="")


def patient_recipient(row: Reminder) -> Recipient:
    """Consent first, then the preferred channel, then an address that can work."""
    patient = row.patient
    if patient is None or not patient.consent_to_contact:
        return Recipient(reason=R.NO_CONSENT)
    channel = patient.preferred_channel
    if channel == Reminder.Channel.EMAIL:
        if not patient.email:
            return Recipient(channel, reason=R.NO_ADDRESS)
        if not valid_email(patient.email):
            return Recipient(channel, reason=R.INVALID_ADDRESS)
        return Recipient(channel, patient.email)
    if channel == Reminder.Channel.SMS:
        if not patient.phone:
            return Recipient(channel, reason=R.NO_ADDRESS)
        if not valid_phone(patient.phone):
            return Recipient(channel, reason=R.INVALID_ADDRESS)
        return Recipient(channel, patient.phone)
    # preferred channel "none": the patient asked not to be contacted.
    return Recipient(reason=R.NO_CONSENT)


def staff_recipient(row: Reminder) -> Recipient:
    user = row.recipient_user
    channel = Reminder.Channel.EMAIL
    if user is None or not user.is_active or not user.email:
        return Recipient(channel, reason=R.NO_ADDRESS)
    if not valid_email(user.email):
        return Recipient(channel, reason=R.INVALID_ADDRESS)
    return Recipient(channel, user.email)


KINDS: dict[str, Kind] = {}


def register(cls: type[Kind]) -> type[Kind]:
    KINDS[cls.code] = cls()
    return cls


def get(code: str) -> Kind | None:
    return KINDS.get(code)


# --- patient-directed -----------------------------------------------------------------------

@register
class GroupSessionKind(Kind):
    """48 h and 2 h before a group session: still scheduled, not yet started, and the
    patient still enrolled in the series."""

    code = Reminder.Kind.GROUP_SESSION
    patient_directed = True
    subject = "Reminder: your group session"

    def prefetch(self, rows, now):
        from visits.models import Enrolment, GroupSession

        sessions = GroupSession.objects.select_related("series").in_bulk(
            {r.target_id for r in rows if r.target_id is not None})
        series_ids = {s.series_id for s in sessions.values()}
        enrolled = dict(
            ((e.series_id, e.patient_id), e.status) for e in Enrolment.objects.filter(
                series_id__in=series_ids, patient_id__in={r.patient_id for r in rows}
            ).only("series_id", "patient_id", "status"))
        return {"sessions": sessions, "enrolments": enrolled}

    def eligibility(self, row, data, now):
        from visits.models import Enrolment, GroupSession

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


@register
class QuestionnaireDueKind(Kind):
    """On the due day, then 3 and 7 days later, while the patient's link is still unused
    and unexpired."""

    code = Reminder.Kind.QUESTIONNAIRE_DUE
    patient_directed = True
    subject = "A short questionnaire from your care team"

    def prefetch(self, rows, now):
        """{link id: (link, its URL)}: outcomes rebuilds the URL from the link's stored
        seed (the token itself is never stored)."""
        from outcomes.links import link_url
        from outcomes.models import QuestionnaireLink

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


# --- staff-directed -------------------------------------------------------------------------

class _OpenAlertKind(Kind):
    """Sent while the safety alert is still open (not acknowledged)."""

    def prefetch(self, rows, now):
        from outcomes.models import SafetyAlert

        return SafetyAlert.objects.only("id", "status").in_bulk(
            {r.target_id for r in rows if r.target_id})

    def eligibility(self, row, data, now):
        from outcomes.models import SafetyAlert

        alert = data.get(row.target_id)
        if alert is None or alert.status != SafetyAlert.Status.OPEN:
            return R.NO_LONGER_NEEDED
        return ""

    def context(self, row, data, now):
        return {"url": absolute("/alerts/")}


@register
class SafetyAlertKind(_OpenAlertKind):
    code = Reminder.Kind.SAFETY_ALERT
    subject = "IPM: a safety alert needs your review"


@register
class AlertEscalationKind(_OpenAlertKind):
    code = Reminder.Kind.ALERT_ESCALATION
    subject = "IPM: an unacknowledged safety alert has been escalated to you"


def breaching_referrals(now):
    """Open referrals over their service's SLA, by the referrals app's own SLA clock
    (referrals.selectors: still `new` after the triage target, or triaged/scheduled with
    no first visit after the first-visit target), urgent first, then longest waiting."""
    from referrals import transitions as t
    from referrals.models import Referral
    from referrals.selectors import referrals_with_sla

    waiting = Referral.objects.filter(status__in=(t.NEW, t.TRIAGED, t.SCHEDULED))
    return (referrals_with_sla(waiting, now=now).filter(sla_breached=True)
            .order_by("priority_rank", "referred_at", "pk"))


@register
class SlaDigestKind(Kind):
    """Daily digest to coordinators of referrals over their SLA; skipped when none are.
    Built once per batch (count, per service, the first 50), whatever the backlog."""

    code = Reminder.Kind.SLA_DIGEST
    subject = "IPM: referrals over their SLA today"
    listed = 50

    def prefetch(self, rows, now):
        from django.db.models import Count

        from referrals import transitions as t

        breaching = breaching_referrals(now)
        by_service = sorted(
            (r["service__name"], r["n"]) for r in
            breaching.order_by().values("service__name").annotate(n=Count("id")))
        shown = []
        for ref in breaching.select_related("service")[:self.listed]:
            sla = (ref.service.sla_triage_days if ref.status == t.NEW
                   else ref.service.sla_first_visit_days)
            shown.append({"id": ref.pk, "service": ref.service.name,
                          "status": ref.get_status_display(), "priority": ref.priority,
                          "days_waiting": ref.days_waiting, "sla_days": sla})
        return {"count": sum(n for _name, n in by_service), "by_service": by_service,
                "referrals": shown}

    def eligibility(self, row, data, now):
        return "" if data["count"] else R.NO_LONGER_NEEDED

    def context(self, row, data, now):
        return {**data, "more": max(0, data["count"] - len(data["referrals"])),
                "url": absolute("/referrals/")}


@register
class ConsentRevokedKind(Kind):
    """A patient used the stop link: tell their clinician (always sent)."""

    code = Reminder.Kind.CONSENT_REVOKED
    subject = "IPM: a patient has stopped reminders"

    def context(self, row, data, now):
        patient_id = row.patient_id or row.target_id
        return {"url": absolute(f"/patients/{patient_id}/")}
