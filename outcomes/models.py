from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .instruments import CODES
from .mme import mme_flags


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
                                name="response_patient_instr_at"),
                   # The program metrics read a period's responses (docs/product.md §3.6).
                   models.Index(fields=["instrument", "answered_at"], name="response_instr_at"),
                   models.Index(fields=["answered_at"], name="response_answered_at")]

    def __str__(self):
        return f"{self.instrument} for patient {self.patient_id} at {self.answered_at:%Y-%m-%d}"


class SafetyAlert(models.Model):
    """Opened in the same transaction as the response that triggers it (PHQ-9 item 9 > 0),
    with its notification rows (docs/product.md §7). `assigned_to` is never null: the person
    who must act (outcomes.services.alert_assignee)."""

    class Kind(models.TextChoices):
        PHQ9_ITEM9 = "phq9_item9", "PHQ-9 item 9 (thoughts of self-harm)"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"

    class Action(models.TextChoices):
        CALLED_PATIENT = "called_patient", "Called the patient"
        SAFETY_PLAN = "safety_plan", "Safety plan agreed"
        EMERGENCY_SERVICES = "emergency_services", "Emergency services contacted"
        NO_ANSWER = "no_answer", "No answer (try again)"
        OTHER = "other", "Other"

    class Risk(models.TextChoices):
        NONE = "none", "No risk identified"
        LOW = "low", "Low"
        MODERATE = "moderate", "Moderate"
        HIGH = "high", "High"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT,
                                related_name="safety_alerts")
    response = models.OneToOneField(QuestionnaireResponse, on_delete=models.PROTECT,
                                    related_name="safety_alert")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PHQ9_ITEM9)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="assigned_alerts",
                                    help_text="Who must act: never empty.")
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # The action of the acknowledgement (each attempt, `no_answer` included, is an AlertAction).
    action = models.CharField(max_length=20, choices=Action.choices, blank=True)
    action_note = models.TextField(blank=True)
    # After `no_answer`: when to try the patient again (shown on the worklist).
    retry_at = models.DateTimeField(null=True, blank=True)
    # The latest escalation step (every step is an AlertEscalation row).
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalated_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    # Risk level of the latest C-SSRS screen recorded while this alert was open.
    cssrs_risk = models.CharField(max_length=10, choices=Risk.choices, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        indexes = [models.Index(fields=["status", "opened_at"], name="alert_status_opened"),
                   models.Index(fields=["assigned_to", "status"], name="alert_assignee_status")]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(status="open", acknowledged_at__isnull=True)
                           | models.Q(status="acknowledged", acknowledged_at__isnull=False)
                           & ~models.Q(action="") & ~models.Q(action="no_answer")),
                name="alert_ack_has_time_and_action"),
            models.CheckConstraint(condition=models.Q(escalation_level__lte=2),
                                   name="alert_escalation_level_0_to_2"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for patient {self.patient_id} ({self.status})"

    @property
    def emergency_review(self) -> bool:
        """A high C-SSRS risk suggests emergency review (docs/product.md §7)."""
        return self.cssrs_risk == self.Risk.HIGH


class AlertEscalation(models.Model):
    """One escalation step of an unacknowledged alert, with its time: level 1 to the
    program's clinical lead, level 2 to the deputy lead (docs/product.md §7)."""

    class Level(models.IntegerChoices):
        LEAD = 1, "Clinical lead"
        DEPUTY = 2, "Deputy lead"

    alert = models.ForeignKey(SafetyAlert, on_delete=models.CASCADE, related_name="escalations")
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["alert_id", "level"]
        constraints = [models.UniqueConstraint(fields=["alert", "level"],
                                               name="alert_escalation_once_per_level")]

    def __str__(self):
        return f"Alert {self.alert_id} escalated to {self.get_level_display()} at {self.at:%Y-%m-%d %H:%M}"


class AlertAction(models.Model):
    """Each thing done about an alert, with its note: `no_answer` keeps the alert open (a retry
    is scheduled); any other action acknowledges it."""

    alert = models.ForeignKey(SafetyAlert, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(max_length=20, choices=SafetyAlert.Action.choices)
    note = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                           related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["alert_id", "at", "pk"]

    def __str__(self):
        return f"{self.get_action_display()} on alert {self.alert_id}"


class ScheduleRule(models.Model):
    """One time point of the follow-up schedule (docs/product.md §3.4): an instrument due a number of
    weeks after the intake date, or at discharge.

    Rows with no program are the default schedule of every program (seeded by a migration
    from `outcomes.schedule.DEFAULT_SCHEDULE`, editable in the Django admin). A program with
    at least one active rule of its own uses only its own rules.
    """

    program = models.ForeignKey("patients.Program", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="schedule_rules",
                                help_text="Leave empty for the default schedule of every program.")
    instrument = models.CharField(max_length=20)
    weeks_after_intake = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="0 = at intake. Leave empty for an 'at discharge' rule.")
    at_discharge = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["program_id", "instrument", "at_discharge", "weeks_after_intake"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(at_discharge=True, weeks_after_intake__isnull=True)
                           | models.Q(at_discharge=False, weeks_after_intake__isnull=False)),
                name="schedule_rule_weeks_xor_discharge",
            ),
            # One rule per time point (partial indexes: NULLs never compare equal).
            models.UniqueConstraint(
                fields=["instrument", "weeks_after_intake"], name="schedule_default_week_unique",
                condition=models.Q(program__isnull=True, at_discharge=False)),
            models.UniqueConstraint(
                fields=["instrument"], name="schedule_default_discharge_unique",
                condition=models.Q(program__isnull=True, at_discharge=True)),
            models.UniqueConstraint(
                fields=["program", "instrument", "weeks_after_intake"],
                name="schedule_program_week_unique",
                condition=models.Q(program__isnull=False, at_discharge=False)),
            models.UniqueConstraint(
                fields=["program", "instrument"], name="schedule_program_discharge_unique",
                condition=models.Q(program__isnull=False, at_discharge=True)),
        ]

    def __str__(self):
        when = "at discharge" if self.at_discharge else f"week {self.weeks_after_intake}"
        return f"{self.instrument} {when} ({self.program or 'default'})"

    def clean(self):
        if self.instrument not in CODES:
            raise ValidationError({"instrument": f"Use one of {', '.join(CODES)}."})
        if self.at_discharge and self.weeks_after_intake is not None:
            raise ValidationError({"weeks_after_intake": "Leave empty for an 'at discharge' rule."})
        if not self.at_discharge and self.weeks_after_intake is None:
            raise ValidationError({"weeks_after_intake": "Give the week, or tick 'at discharge'."})


class QuestionnaireLink(models.Model):
    """A personal, single-use, expiring link for a patient to answer instruments without a
    login (docs/product.md §3.4). Only a SHA-256 hash of the token is stored and looked up.

    `token_seed` is kept so that reminder messages (sent on the due day, +3 and +7 days) can
    carry the same URL: the token is HMAC-SHA256(SECRET_KEY-derived key, seed), so a copy of
    the database alone does not give working links (see `outcomes.links`).
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE,
                                related_name="questionnaire_links")
    instruments = models.JSONField(help_text="Instrument codes, in the order they are asked.")
    token_hash = models.CharField(max_length=64, unique=True)
    token_seed = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["patient", "used_at", "expires_at"],
                                name="qlink_patient_open")]

    def __str__(self):
        return f"Questionnaire link {self.pk} for patient {self.patient_id}"

    def is_open(self, now=None) -> bool:
        return self.used_at is None and self.expires_at > (now or timezone.now())


class MedicationReview(models.Model):
    """Opioid review at a visit: each opioid with its daily MME (CDC 2022 factors), or a total
    entered directly when the regimen is not itemised (docs/product.md §3.4)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT,
                                related_name="medication_reviews")
    reviewed_at = models.DateTimeField(default=timezone.now)
    total_mme = models.DecimalField(max_digits=7, decimal_places=1)
    total_entered_directly = models.BooleanField(default=False)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["reviewed_at", "pk"]
        indexes = [models.Index(fields=["patient", "reviewed_at"], name="medreview_patient_at")]
        constraints = [models.CheckConstraint(condition=models.Q(total_mme__gte=0),
                                              name="medreview_total_mme_nonnegative")]

    def __str__(self):
        return f"Medication review {self.pk} for patient {self.patient_id}: {self.total_mme} MME"

    @property
    def flags(self) -> list[str]:
        return mme_flags(self.total_mme)


class MedicationLine(models.Model):
    """One opioid of a review. `daily_mme` is empty for buprenorphine (not converted)."""

    class Route(models.TextChoices):
        ORAL = "oral", "Oral"
        TRANSDERMAL = "transdermal", "Transdermal"
        SUBLINGUAL = "sublingual", "Sublingual / buccal"
        OTHER = "other", "Other"

    review = models.ForeignKey(MedicationReview, on_delete=models.CASCADE, related_name="lines")
    drug = models.CharField(max_length=30)
    dose = models.DecimalField(max_digits=8, decimal_places=2)
    unit = models.CharField(max_length=8)
    doses_per_day = models.DecimalField(max_digits=5, decimal_places=2, default=1)
    route = models.CharField(max_length=12, choices=Route.choices, default=Route.ORAL)
    daily_mme = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.drug} {self.dose} {self.unit} x {self.doses_per_day}/day"
