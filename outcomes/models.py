from django.conf import settings
from django.db import models
from django.utils import timezone


class QuestionnaireResponse(models.Model):
    """One completed instrument. Answers, scores and the instrument version are stored
    together, so a later change of scoring tables never rewrites history."""

    class Context(models.TextChoices):
        INTAKE = "intake", "Intake"
        FOLLOW_UP = "follow_up", "Follow-up"
        PATIENT_LINK = "patient_link", "Patient link"
        CLINICIAN = "clinician", "Entered by clinician"
        DISCHARGE = "discharge", "Discharge"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT,
                                related_name="responses")
    instrument = models.CharField(max_length=20, db_index=True)
    instrument_version = models.CharField(max_length=200)
    answers = models.JSONField()
    scores = models.JSONField()
    # The instrument's headline number (PEG score, PHQ-9 total, ...), for sorting and
    # aggregation without parsing JSON.
    primary_score = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    context = models.CharField(max_length=16, choices=Context.choices, default=Context.CLINICIAN)
    answered_at = models.DateTimeField(default=timezone.now)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["answered_at", "pk"]
        indexes = [models.Index(fields=["patient", "instrument", "answered_at"],
                                name="response_patient_instr_at")]

    def __str__(self):
        return f"{self.instrument} for patient {self.patient_id} at {self.answered_at:%Y-%m-%d}"


class SafetyAlert(models.Model):
    """Opened in the same transaction as the response that triggers it (PHQ-9 item 9 > 0)."""

    class Kind(models.TextChoices):
        PHQ9_ITEM9 = "phq9_item9", "PHQ-9 item 9 (thoughts of self-harm)"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT,
                                related_name="safety_alerts")
    response = models.OneToOneField(QuestionnaireResponse, on_delete=models.PROTECT,
                                    related_name="safety_alert")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PHQ9_ITEM9)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    action_note = models.TextField(blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalated_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-opened_at", "-pk"]
        indexes = [models.Index(fields=["status", "opened_at"], name="alert_status_opened")]

    def __str__(self):
        return f"{self.get_kind_display()} for patient {self.patient_id} ({self.status})"
