from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from ipm.validators import CARE_MOMENTS_BEFORE, EARLIEST_CARE_MOMENT, validate_care_date
from patients.models import Site


def _default_site() -> int:
    return Site.default_pk()


class GroupSeries(models.Model):
    """A group programme (shared medical appointments): a cohort meets for a series of
    sessions led by a billable clinician with non-billable facilitators."""

    name = models.CharField("programme name", max_length=200)
    service = models.ForeignKey("referrals.Service", on_delete=models.PROTECT,
                                related_name="group_series")
    capacity = models.PositiveSmallIntegerField()
    # The clinic that runs it (docs/product.md §6): staff see the series of their own sites.
    site = models.ForeignKey("patients.Site", on_delete=models.PROTECT, related_name="group_series",
                             default=_default_site)
    lead_clinician = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="led_series",
                                       help_text="Billable lead clinician.")
    facilitators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                          related_name="facilitated_series",
                                          help_text="Non-billable facilitators.")
    location = models.CharField(max_length=200, blank=True)
    video_link = models.URLField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True,
                                        help_text="When completion was computed.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "group series"
        constraints = [models.CheckConstraint(condition=models.Q(capacity__gte=1),
                                              name="series_capacity_positive")]

    def __str__(self):
        return self.name


class GroupSession(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"

    series = models.ForeignKey(GroupSeries, on_delete=models.CASCADE, related_name="sessions")
    starts_at = models.DateTimeField(validators=[validate_care_date])
    duration_minutes = models.PositiveSmallIntegerField(default=90)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Linked visits for billing: who led (billable) and who facilitated (non-billable).
    lead_clinician = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="led_sessions")
    facilitators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                          related_name="facilitated_sessions")

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["series", "starts_at"], name="session_series_start"),
                   models.Index(fields=["starts_at"], name="session_start")]
        constraints = [models.CheckConstraint(
            condition=models.Q(starts_at__gte=EARLIEST_CARE_MOMENT,
                               starts_at__lt=CARE_MOMENTS_BEFORE),
            name="session_starts_at_plausible")]

    def __str__(self):
        return f"{self.series} · {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def ends_at(self):
        return self.starts_at + timedelta(minutes=self.duration_minutes)


class Enrolment(models.Model):
    class Status(models.TextChoices):
        ENROLLED = "enrolled", "Enrolled"
        WAITLISTED = "waitlisted", "Waitlisted"
        WITHDRAWN = "withdrawn", "Withdrawn"
        COMPLETED = "completed", "Completed"

    series = models.ForeignKey(GroupSeries, on_delete=models.CASCADE, related_name="enrolments")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT,
                                related_name="enrolments")
    status = models.CharField(max_length=10, choices=Status.choices)
    # Waitlist order: a strictly increasing number per series, given under the series lock.
    waitlist_seq = models.PositiveIntegerField(null=True, blank=True)
    enrolled_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["series", "status", "waitlist_seq", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["series", "patient"], name="one_enrolment_per_series"),
            # The waitlist is a strict order: only waitlisted rows carry a number, and no two
            # rows of a series share one.
            models.CheckConstraint(
                condition=(models.Q(status="waitlisted", waitlist_seq__isnull=False)
                           | (~models.Q(status="waitlisted") & models.Q(waitlist_seq__isnull=True))),
                name="waitlist_seq_iff_waitlisted"),
            models.UniqueConstraint(fields=["series", "waitlist_seq"],
                                    condition=models.Q(waitlist_seq__isnull=False),
                                    name="one_waitlist_place_per_number"),
        ]
        indexes = [models.Index(fields=["series", "status", "waitlist_seq"],
                                name="enrolment_series_status")]

    def __str__(self):
        return f"{self.patient_id} in {self.series_id}: {self.status}"


class Attendance(models.Model):
    class Status(models.TextChoices):
        UNRESOLVED = "unresolved", "Unresolved"
        PRESENT = "present", "Present"
        ABSENT = "absent", "Absent"
        LATE_CANCEL = "late_cancel", "Late cancel"
        EXCUSED = "excused", "Excused"

    session = models.ForeignKey(GroupSession, on_delete=models.CASCADE, related_name="attendance")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT,
                                related_name="attendance")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UNRESOLVED)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    marked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "pk"]
        constraints = [models.UniqueConstraint(fields=["session", "patient"],
                                               name="one_attendance_per_session")]

