"""Stepped care and care management (SPEC §9).

- StepDecision: the history of a patient's care step (up, down, or "stay" with a reason).
  `Patient.step` is the current step, written only by `patients.services.patient_step_set`.
- Contact: one care-manager contact (call, video, visit, message) with its minutes.
- Goal: the care plan: goals in the patient's words; a goal's `activity` is one PSFS item.
- BillingCode: the program-editable table of monthly minute thresholds (defaults seeded from
  `care/data/billing_codes.json`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

STEPS = (1, 2, 3)
STEP_LABELS = {1: "Step 1 · supported self-management",
               2: "Step 2 · care management with MDT services",
               3: "Step 3 · specialist interdisciplinary care"}
PSFS_ITEMS = ("a1", "a2", "a3", "a4", "a5")


class StepDecision(models.Model):
    class Direction(models.TextChoices):
        UP = "up", "Step up"
        DOWN = "down", "Step down"
        STAY = "stay", "Stay on this step"

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE,
                                related_name="step_decisions")
    from_step = models.PositiveSmallIntegerField()
    to_step = models.PositiveSmallIntegerField()
    direction = models.CharField(max_length=4, choices=Direction.choices)
    reason = models.TextField()
    mdt_meeting = models.ForeignKey("referrals.MdtMeeting", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    help_text="The MDT meeting that took the decision, if any.")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-decided_at", "-pk"]
        indexes = [models.Index(fields=["patient", "decided_at"], name="stepdecision_patient_at")]
        constraints = [
            models.CheckConstraint(condition=Q(from_step__gte=1, from_step__lte=3,
                                               to_step__gte=1, to_step__lte=3),
                                   name="stepdecision_steps_1_to_3"),
            models.CheckConstraint(condition=~Q(reason=""), name="stepdecision_needs_reason"),
            models.CheckConstraint(
                condition=(Q(direction="up", to_step__gt=models.F("from_step"))
                           | Q(direction="down", to_step__lt=models.F("from_step"))
                           | Q(direction="stay", to_step=models.F("from_step"))),
                name="stepdecision_direction_matches_steps"),
        ]

    def __str__(self):
        return f"Patient {self.patient_id}: step {self.from_step} → {self.to_step} ({self.direction})"


class Contact(models.Model):
    class Kind(models.TextChoices):
        PHONE = "phone", "Phone call"
        VIDEO = "video", "Video call"
        IN_PERSON = "in_person", "In person"
        SMS = "sms", "SMS"
        MESSAGE = "message", "Message"

    class Outcome(models.TextChoices):
        REACHED = "reached", "Reached"
        NO_ANSWER = "no_answer", "No answer"
        LEFT_MESSAGE = "left_message", "Left a message"

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE,
                                related_name="care_contacts")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    minutes = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    note = models.TextField(blank=True)
    next_contact_on = models.DateField(null=True, blank=True,
                                       help_text="Puts the patient on the worklist that day.")
    contacted_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-contacted_at", "-pk"]
        indexes = [
            models.Index(fields=["patient", "contacted_at"], name="contact_patient_at"),
            models.Index(fields=["contacted_at"], name="contact_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gte=0, minutes__lte=600),
                                   name="contact_minutes_0_to_600"),
            models.CheckConstraint(condition=Q(kind__in=["phone", "video", "in_person", "sms",
                                                         "message"]),
                                   name="contact_kind_valid"),
            models.CheckConstraint(condition=Q(outcome__in=["reached", "no_answer",
                                                            "left_message"]),
                                   name="contact_outcome_valid"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} with patient {self.patient_id}: {self.outcome}"


class Goal(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ACHIEVED = "achieved", "Achieved"
        DROPPED = "dropped", "Dropped"

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE,
                                related_name="care_goals")
    text = models.TextField(help_text="The goal in the patient's own words.")
    activity = models.CharField(
        max_length=80, blank=True,
        help_text="The activity the PSFS rates for this goal, e.g. 'Walking the dog'.")
    psfs_item = models.CharField(max_length=2, blank=True,
                                 help_text="The PSFS item (a1..a5) that rates this activity.")
    target_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["patient", "psfs_item", "created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="goal_text_required"),
            models.CheckConstraint(condition=Q(psfs_item__in=["", *PSFS_ITEMS]),
                                   name="goal_psfs_item_valid"),
            models.CheckConstraint(condition=Q(psfs_item="") | ~Q(activity=""),
                                   name="goal_psfs_item_needs_activity"),
            # One goal per PSFS item while the goal is kept (a dropped goal frees its item).
            models.UniqueConstraint(fields=["patient", "psfs_item"],
                                    condition=~Q(psfs_item="") & ~Q(status="dropped"),
                                    name="goal_one_per_psfs_item"),
        ]

    def __str__(self):
        return self.text[:60]


class BillingCode(models.Model):
    """A monthly care-management code and its minute thresholds.

    A *base* code (`min_minutes` set) bills when the month's minutes reach `min_minutes`;
    `month` says whether it is for the patient's first care-management month, later months,
    or any month. An *add-on* (`add_on_to` set) bills one unit for each additional block
    beyond the base code's `covers_minutes` (or its `min_minutes` when it covers no more):
    the first unit at `min_additional_minutes`, then one more per `unit_minutes`, at most
    `max_units`. Codes of one `family` are one way to bill; families are alternatives.

    Rows with no program are every program's defaults; a program with active rows of its own
    uses only those."""

    class Month(models.TextChoices):
        FIRST = "first", "First care-management month"
        SUBSEQUENT = "subsequent", "Subsequent months"
        ANY = "any", "Any month"
        ADD_ON = "", "— (add-on)"

    program = models.ForeignKey("patients.Program", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="billing_codes",
                                help_text="Leave empty for every program's defaults.")
    code = models.CharField(max_length=20)
    family = models.SlugField(max_length=20, help_text="e.g. cocm, bhi, ccm.")
    description = models.CharField(max_length=300, blank=True)
    month = models.CharField(max_length=10, choices=Month.choices, blank=True)
    min_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    covers_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    add_on_to = models.JSONField(default=list, blank=True,
                                 help_text='Base codes this add-on extends, e.g. ["99492", "99493"].')
    min_additional_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    unit_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    max_units = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["family", "month", "code"]
        constraints = [
            models.UniqueConstraint(fields=["code"], condition=Q(program__isnull=True),
                                    name="billingcode_default_code_unique"),
            models.UniqueConstraint(fields=["program", "code"],
                                    condition=Q(program__isnull=False),
                                    name="billingcode_program_code_unique"),
            # Base code: a month and a threshold. Add-on: the codes it extends and its blocks.
            models.CheckConstraint(
                condition=((~Q(month="") & Q(min_minutes__isnull=False)
                            & Q(unit_minutes__isnull=True))
                           | (Q(month="") & Q(min_minutes__isnull=True)
                              & Q(unit_minutes__gt=0) & Q(min_additional_minutes__isnull=False))),
                name="billingcode_base_or_add_on"),
        ]

    def __str__(self):
        return f"{self.code} ({self.family})"

    @property
    def is_add_on(self) -> bool:
        return not self.month
