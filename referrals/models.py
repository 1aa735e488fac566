from django.conf import settings
from django.db import models
from django.utils import timezone

from . import transitions as t


class Service(models.Model):
    """An MDT service in the catalogue (SPEC §3.2), seeded by a data migration."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    discipline = models.CharField(max_length=80)
    sla_triage_days = models.PositiveSmallIntegerField(
        help_text="Target days from referral to triage.")
    sla_first_visit_days = models.PositiveSmallIntegerField(
        help_text="Target days from referral to first visit.")
    is_group_based = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Referral(models.Model):
    class Status(models.TextChoices):
        NEW = t.NEW, "New"
        TRIAGED = t.TRIAGED, "Triaged"
        SCHEDULED = t.SCHEDULED, "Scheduled"
        IN_TREATMENT = t.IN_TREATMENT, "In treatment"
        DISCHARGED = t.DISCHARGED, "Discharged"
        DECLINED = t.DECLINED, "Declined"
        CANCELLED = t.CANCELLED, "Cancelled"

    class Priority(models.TextChoices):
        ROUTINE = "routine", "Routine"
        URGENT = "urgent", "Urgent"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT,
                                related_name="referrals")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="referrals")
    reason = models.TextField()
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.ROUTINE)
    # Denormalised rank so "urgent first" is a plain indexed sort.
    priority_rank = models.PositiveSmallIntegerField(default=1, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="assigned_referrals")
    referred_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    needs_mdt = models.BooleanField(default=False)
    referred_at = models.DateTimeField(default=timezone.now)
    triaged_at = models.DateTimeField(null=True, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    first_visit_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority_rank", "referred_at", "pk"]
        indexes = [
            models.Index(fields=["status", "priority_rank", "referred_at"], name="referral_queue"),
            models.Index(fields=["service", "status"], name="referral_service_status"),
            models.Index(fields=["patient", "status"], name="referral_patient_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=t.STATES),
                                   name="referral_status_valid"),
        ]

    def __str__(self):
        return f"Referral {self.pk} · {self.service_id} · {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status not in t.FINAL_STATES


class ReferralEvent(models.Model):
    """Every transition, kept: who, when, from, to, note."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    note = models.TextField(blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
