"""Individual appointments, clinicians' weekly availability and leave, visit notes, and the
"two did-not-attend" review flag (docs/product.md §8)."""

from django.conf import settings
from django.contrib.postgres.fields import RangeBoundary, RangeOperators
from django.db import models
from django.utils import timezone

from . import rules
from .constraints import PostgresExclusionConstraint, TsTzRange


class Appointment(models.Model):
    """A one-to-one visit. `ends_at` is stored (starts_at + duration, set by the services)
    so the database can refuse overlapping booked/attended appointments of one clinician."""

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        PHONE = "phone", "Phone"
        VIDEO = "video", "Video"

    class Status(models.TextChoices):
        BOOKED = rules.BOOKED, "Booked"
        ATTENDED = rules.ATTENDED, "Attended"
        DID_NOT_ATTEND = rules.DID_NOT_ATTEND, "Did not attend"
        CANCELLED_BY_PATIENT = rules.CANCELLED_BY_PATIENT, "Cancelled by patient"
        CANCELLED_BY_CLINIC = rules.CANCELLED_BY_CLINIC, "Cancelled by clinic"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT,
                                related_name="appointments")
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="appointments")
    service = models.ForeignKey("referrals.Service", on_delete=models.PROTECT,
                                related_name="appointments")
    site = models.ForeignKey("patients.Site", on_delete=models.PROTECT,
                             related_name="appointments")
    referral = models.ForeignKey("referrals.Referral", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(editable=False)
    duration_minutes = models.PositiveSmallIntegerField()
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IN_PERSON)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.BOOKED)
    # Why it was cancelled (required for both cancellations), or a note on attendance.
    status_reason = models.TextField(blank=True)
    # Set when booked outside the clinician's availability: why the coordinator overrode it.
    override_reason = models.TextField(blank=True)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    status_changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="+")
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [
            models.Index(fields=["clinician", "starts_at"], name="appt_clinician_start"),
            models.Index(fields=["patient", "starts_at"], name="appt_patient_start"),
            models.Index(fields=["site", "starts_at"], name="appt_site_start"),
            models.Index(fields=["service", "starts_at"], name="appt_service_start"),
            models.Index(fields=["referral", "status"], name="appt_referral_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=rules.STATUSES),
                                   name="appt_status_valid"),
            models.CheckConstraint(condition=models.Q(mode__in=["in_person", "phone", "video"]),
                                   name="appt_mode_valid"),
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=rules.MIN_DURATION,
                                   duration_minutes__lte=rules.MAX_DURATION),
                name="appt_duration_range"),
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="appt_ends_after_start"),
            models.CheckConstraint(
                condition=~models.Q(status__in=rules.CANCELLED) | ~models.Q(status_reason=""),
                name="appt_cancellation_needs_reason"),
            # No double-booking: per clinician, the half-open ranges [start, end) of
            # appointments that hold their time never overlap (back-to-back is fine).
            PostgresExclusionConstraint(
                name="appt_no_double_booking",
                expressions=[
                    (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("clinician", RangeOperators.EQUAL),
                ],
                condition=models.Q(status__in=rules.HOLDS_TIME),
            ),
        ]

    def __str__(self):
        return f"Appointment {self.pk} · {self.starts_at:%Y-%m-%d %H:%M} · {self.status}"

    @property
    def is_cancelled(self) -> bool:
        return self.status in rules.CANCELLED

    @property
    def allowed_statuses(self) -> tuple[str, ...]:
        return rules.allowed_from(self.status)


class WeeklyAvailability(models.Model):
    """A clinician's recurring hours at one site on one weekday, in the site's time zone.
    `service` narrows the window to one service (e.g. a physiotherapy clinic); blank means
    any service the clinician offers."""

    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="weekly_availability")
    site = models.ForeignKey("patients.Site", on_delete=models.CASCADE,
                             related_name="weekly_availability")
    service = models.ForeignKey("referrals.Service", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+")
    weekday = models.PositiveSmallIntegerField(choices=rules.WEEKDAY_CHOICES,
                                               help_text="0 Monday … 6 Sunday")
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["clinician", "site", "weekday", "start_time", "pk"]
        verbose_name_plural = "weekly availability"
        constraints = [
            models.CheckConstraint(condition=models.Q(end_time__gt=models.F("start_time")),
                                   name="availability_end_after_start"),
            models.CheckConstraint(condition=models.Q(weekday__gte=0, weekday__lte=6),
                                   name="availability_weekday_0_6"),
        ]
        indexes = [models.Index(fields=["clinician", "weekday"], name="availability_clin_day")]

    def __str__(self):
        return (f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M} "
                f"at {self.site_id}")


class AvailabilityException(models.Model):
    """Time a clinician is away (leave, training): no free slots, and booking into it needs
    an override. `site` blank means every site."""

    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="availability_exceptions")
    site = models.ForeignKey("patients.Site", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True, default="Leave")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="availability_exception_ends_after_start"),
        ]

    def __str__(self):
        return f"{self.reason} {self.starts_at:%Y-%m-%d %H:%M}-{self.ends_at:%Y-%m-%d %H:%M}"


class VisitNote(models.Model):
    """The clinician's SOAP note on an attended appointment. Its author edits it until
    signing; a signed note only takes addenda."""

    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT,
                                       related_name="note")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")
    subjective = models.TextField(blank=True)
    objective = models.TextField(blank=True)
    assessment = models.TextField(blank=True)
    plan = models.TextField(blank=True)
    minutes = models.PositiveSmallIntegerField(default=0,
                                               help_text="Clinician time, 0 to 600 minutes.")
    signed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(minutes__lte=600),
                                   name="visitnote_minutes_0_600"),
        ]

    def __str__(self):
        return f"Visit note {self.pk} ({'signed' if self.signed_at else 'draft'})"

    @property
    def patient_id(self):
        return self.appointment.patient_id

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class VisitNoteAddendum(models.Model):
    note = models.ForeignKey(VisitNote, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "visit note addenda"

    def __str__(self):
        return f"Addendum {self.pk} to note {self.note_id}"


class AttendanceReview(models.Model):
    """A referral with two or more did-not-attend appointments, on the care-manager worklist
    until someone records the review. At most one open review per referral."""

    referral = models.ForeignKey("referrals.Referral", on_delete=models.CASCADE,
                                 related_name="attendance_reviews")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    missed = models.PositiveSmallIntegerField(help_text="Did-not-attend count when opened.")
    opened_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["opened_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["referral"], condition=models.Q(reviewed_at=None),
                                    name="attendance_review_one_open_per_referral"),
        ]

    def __str__(self):
        return f"Attendance review of referral {self.referral_id}"


class CalendarFeed(models.Model):
    """A clinician's private iCalendar feed. Only the SHA-256 of the token is stored; a new
    token (shown once) replaces the old one, which stops working at once."""

    clinician = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                     related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Calendar feed of user {self.clinician_id}"
