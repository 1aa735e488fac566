from django.db import models
from django.utils import timezone


class Reminder(models.Model):
    """The outbox: one row per reminder, with a unique key, so a reminder is sent at most
    once whatever crashes or retries happen (docs/product.md §3.5)."""

    class Kind(models.TextChoices):
        GROUP_SESSION = "group_session", "Group session"
        QUESTIONNAIRE_DUE = "questionnaire_due", "Questionnaire due"
        SAFETY_ALERT = "safety_alert", "Safety alert (clinician)"
        ALERT_ESCALATION = "alert_escalation", "Safety alert escalation (clinical lead)"
        CONSENT_REVOKED = "consent_revoked", "Patient stopped reminders (clinician)"
        SLA_DIGEST = "sla_digest", "SLA-breach digest (coordinators)"
        STAFF_INVITE = "staff_invite", "Staff invitation (set-password link)"
        # Registered by the appointments app (appointments/reminder_kinds.py).
        APPOINTMENT = "appointment", "Individual appointment"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Reason(models.TextChoices):
        NO_CONSENT = "no_consent", "No consent to contact"
        NO_ADDRESS = "no_address", "No address for the channel"
        INVALID_ADDRESS = "invalid_address", "Invalid address"
        NO_LONGER_NEEDED = "no_longer_needed", "No longer needed"
        PROVIDER_ERROR = "provider_error", "Provider error"

    key = models.CharField(max_length=200, unique=True,
                           help_text="kind:target:recipient:offset — the at-most-once key")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # What the reminder is about, as an id in the owning app (session, link, alert, ...).
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    patient = models.ForeignKey("patients.Patient", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="reminders")
    recipient_user = models.ForeignKey("auth.User", null=True, blank=True,
                                       on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=5, choices=Channel.choices)
    scheduled_for = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Which dispatch pass holds the claim; every later write of that pass is conditional on
    # it, so a pass whose claim was taken back can no longer touch the row.
    claim_token = models.UUIDField(null=True, blank=True)
    # "Attempt started": committed just before the provider is called. A claim that is old
    # and has this set may have reached the provider, so it is never sent again
    # automatically (see reminders/dispatch.py).
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scheduled_for", "pk"]
        indexes = [
            models.Index(fields=["status", "scheduled_for"], name="reminder_due"),
            models.Index(fields=["target_type", "target_id"], name="reminder_target"),
            models.Index(fields=["patient", "status"], name="reminder_patient_status"),
            models.Index(fields=["status", "claimed_at"], name="reminder_claims"),
            # The outbox page and API list newest schedule first.
            models.Index(fields=["-scheduled_for", "-id"], name="reminder_newest"),
        ]

    def __str__(self):
        return f"{self.kind} {self.status} at {self.scheduled_for:%Y-%m-%d %H:%M}"

    @property
    def can_resend(self) -> bool:
        return self.status in (self.Status.FAILED, self.Status.CANCELLED)
