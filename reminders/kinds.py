"""The reminder kinds registry: who each kind goes to, the check re-run at send time, and
its message. The outbox knows no feature: each app registers the kinds it schedules from its
AppConfig.ready() (`register(MyKind)`), in a `reminder_kinds.py` of its own.

The dispatcher (reminders/dispatch.py) calls, for a claimed batch:

- `prefetch(rows, now)` once per kind: load the targets of all rows in a few queries and
  return whatever `eligibility` and `context` need (no query per row);
- `eligibility(row, data, now)`: "" when the reminder is still needed, else a reason code;
- `message(row, data, now)`: subject, plain-text and HTML email bodies, SMS text, rendered
  from templates/reminders/{email,sms}/<kind>.*.

Patient-directed kinds go to the patient on the preferred channel, only with consent, and
carry the one-click stop link. Staff-directed kinds go to `recipient_user` by email, or by
SMS when the row's channel is `sms` (the phone from `register_staff_phone`'s lookup).
Bodies never carry clinical detail (scores, diagnoses, instrument names, programme names):
only times, places and links behind a login or a single-use token.

Each kind's target (target_type / target_id / offsets) is documented with its class:
- group_session: visits/reminder_kinds.py
- questionnaire_due, safety_alert, alert_escalation: outcomes/reminder_kinds.py
- sla_digest: referrals/reminder_kinds.py
- consent_revoked: below ("patient" / Patient.pk; scheduled by reminders.services when a
  patient uses the stop link)
"""


from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.template.loader import render_to_string

from patients.models import PHONE_E164

from .models import Reminder
from .tokens import stop_url

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


# How to find a staff member's phone (urgent alerts by SMS): the app that keeps staff
# phones (team, a higher layer) registers its lookup from its AppConfig.ready().
_staff_phone = None


def register_staff_phone(lookup) -> None:
    """`lookup(user) -> str` (E.164 or "") gives a staff member's phone for SMS."""
    global _staff_phone
    _staff_phone = lookup


def staff_phone(user) -> str:
    return (_staff_phone(user) if _staff_phone is not None and user is not None else "") or ""


def staff_recipient(row: Reminder) -> Recipient:
    user = row.recipient_user
    if row.channel == Reminder.Channel.SMS:
        channel = Reminder.Channel.SMS
        phone = staff_phone(user) if user is not None and user.is_active else ""
        if not phone:
            return Recipient(channel, reason=R.NO_ADDRESS)
        if not valid_phone(phone):
            return Recipient(channel, reason=R.INVALID_ADDRESS)
        return Recipient(channel, phone)
    channel = Reminder.Channel.EMAIL
    if user is None or not user.is_active or not user.email:
        return Recipient(channel, reason=R.NO_ADDRESS)
    if not valid_email(user.email):
        return Recipient(channel, reason=R.INVALID_ADDRESS)
    return Recipient(channel, user.email)


KINDS: dict[str, Kind] = {}


def register(cls: type[Kind]) -> type[Kind]:
    """Add a kind (its `code` is a Reminder.Kind value). Called from the owning app's
    AppConfig.ready(); registering a code twice keeps the last class."""
    KINDS[cls.code] = cls()
    return cls


def get(code: str) -> Kind | None:
    return KINDS.get(code)


# --- the outbox's own kind --------------------------------------------------------------------

@register
class ConsentRevokedKind(Kind):
    """A patient used the stop link: tell their clinician (always sent)."""

    code = Reminder.Kind.CONSENT_REVOKED
    subject = "IPM: a patient has stopped reminders"

    def context(self, row, data, now):
        patient_id = row.patient_id or row.target_id
        return {"url": absolute(f"/patients/{patient_id}/")}
