from django.conf import settings
from django.db import models
from django.utils import timezone

from . import transitions as t


class Service(models.Model):
    """An MDT service in the catalogue (docs/product.md §3.2), seeded by a data migration."""

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


class ReferralQuerySet(models.QuerySet):
    """Referrals. `count_from(base)` lets a list annotated with the SLA clock (which joins
    the service table) count its rows on the plain filtered queryset instead: the same
    number, without the join, for the paginator's COUNT over a large queue. Any further
    filter drops the shortcut, so the count can never go stale."""

    _count_base = None

    def count_from(self, base: "ReferralQuerySet") -> "ReferralQuerySet":
        clone = self._chain()
        clone._count_base = base
        return clone

    def _clone(self):
        clone = super()._clone()
        clone._count_base = self._count_base
        return clone

    def _filter_or_exclude(self, negate, args, kwargs):
        clone = super()._filter_or_exclude(negate, args, kwargs)
        clone._count_base = None
        return clone

    def capped_count(self, limit: int) -> int:
        """How many rows, counting at most ``limit`` ids (ipm.pagination.CappedPaginator),
        on the plain filtered queryset when there is one."""
        base = self._count_base if self._count_base is not None else self
        return base.order_by().values("pk")[:limit].count()

    def count(self):
        if self._count_base is not None and self._result_cache is None \
                and not self.query.is_sliced:
            return self._count_base.count()
        return super().count()


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
    # Referrals sent in by another system (SPEC §10): who sent it (shown on the queue), and
    # the sender's identifier of the request (system + value), unique so a retry or a
    # concurrent duplicate can never make a second referral. Blank for referrals made here.
    # db_default: bulk loaders (COPY) that predate these columns still insert rows.
    source = models.CharField(max_length=200, blank=True, default="", db_default="")
    source_system = models.CharField(max_length=255, blank=True, default="", db_default="")
    source_identifier = models.CharField(max_length=255, blank=True, default="",
                                         db_default="")
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["priority_rank", "referred_at", "pk"]
        indexes = [
            models.Index(fields=["status", "priority_rank", "referred_at"], name="referral_queue"),
            models.Index(fields=["service", "status"], name="referral_service_status"),
            models.Index(fields=["patient", "status"], name="referral_patient_status"),
            # The default queue order (urgent first, then longest waiting) as an index scan.
            models.Index(fields=["priority_rank", "referred_at", "id"], name="referral_queue_order"),
            models.Index(fields=["assignee", "status"], name="referral_assignee_status"),
            # Sorting by referral date / days waiting.
            models.Index(fields=["referred_at", "id"], name="referral_referred_at"),
            # The program metrics read the referrals triaged, or first seen, in a period.
            models.Index(fields=["triaged_at"], name="referral_triaged_at"),
            models.Index(fields=["first_visit_at"], name="referral_first_visit_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=t.STATES),
                                   name="referral_status_valid"),
            models.UniqueConstraint(fields=["source_system", "source_identifier"],
                                    condition=~models.Q(source_identifier=""),
                                    name="referral_source_identifier_unique"),
        ]

    def __str__(self):
        return f"Referral {self.pk} · {self.service_id} · {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status not in t.FINAL_STATES

    @property
    def allowed_transitions(self) -> tuple[str, ...]:
        """States this referral may move to now (pure: no query)."""
        return t.allowed_from(self.status)


class ReferralEvent(models.Model):
    """Every transition, kept: who, when, from, to, note."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    note = models.TextField(blank=True)
    # Required for declined/cancelled (docs/product.md §3.2); the note is free text for any transition.
    # db_default: bulk loaders (COPY) that predate this column still insert rows.
    reason = models.TextField(blank=True, default="", db_default="")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["referral", "at"], name="referralevent_referral_at"),
                   # The metrics look for referrals that moved after a period ended.
                   models.Index(fields=["at"], name="referralevent_at")]

    def __str__(self):
        return f"{self.from_status or '·'} → {self.to_status}"


class MdtMeeting(models.Model):
    """A multidisciplinary team meeting (docs/product.md §3.2): complex referrals go on its agenda and
    the team records one decision per referral."""

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        VIRTUAL = "virtual", "Virtual"

    scheduled_for = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IN_PERSON)
    location = models.CharField(max_length=200, blank=True)
    video_link = models.URLField(blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["scheduled_for", "pk"]
        indexes = [models.Index(fields=["scheduled_for"], name="mdtmeeting_when")]

    def __str__(self):
        local = timezone.localtime(self.scheduled_for)
        return f"MDT {local:%a %d %b %Y %H:%M} ({self.get_mode_display()})"

    @property
    def where(self) -> str:
        return self.video_link if self.mode == self.Mode.VIRTUAL else self.location


class MdtAttendee(models.Model):
    """Who attends, by discipline: a staff user, or a named guest (e.g. the GP)."""

    meeting = models.ForeignKey(MdtMeeting, on_delete=models.CASCADE, related_name="attendees")
    discipline = models.CharField(max_length=80)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["discipline", "pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(name="") | models.Q(user__isnull=False),
                                   name="mdtattendee_user_or_name"),
        ]

    def __str__(self):
        return f"{self.display_name} ({self.discipline})"

    @property
    def display_name(self) -> str:
        if self.user_id and self.user:
            return self.user.get_full_name() or self.user.username
        return self.name


class MdtAgendaItem(models.Model):
    """One referral on one meeting's agenda, and the team's decision about it."""

    class Criterion(models.TextChoices):
        RED_FLAG = "red_flag", "Red flags"
        HIGH_RISK = "high_risk", "High risk (STarT Back)"
        MULTIPLE_DISCIPLINES = "multiple_disciplines", "Several disciplines"
        REQUESTED = "requested", "MDT review requested"

    class Decision(models.TextChoices):
        PENDING = "", "Not yet decided"
        SERVICES = "services", "Refer to the chosen services"
        JOINT_APPOINTMENT = "joint_appointment", "Joint appointment"
        ADVICE = "advice", "Back to the GP with advice"

    meeting = models.ForeignKey(MdtMeeting, on_delete=models.CASCADE, related_name="items")
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="mdt_items")
    position = models.PositiveSmallIntegerField(default=0)
    criteria = models.JSONField(default=list, blank=True,
                                help_text="Why it is complex, when it was put on the agenda.")
    note = models.TextField(blank=True, help_text="What the coordinator asks the team.")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)
    decision = models.CharField(max_length=20, choices=Decision.choices, blank=True, default="")
    decision_note = models.TextField(blank=True)
    decided_services = models.ManyToManyField(Service, blank=True, related_name="+")
    joint_clinicians = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                              related_name="+")
    created_referrals = models.ManyToManyField(Referral, blank=True, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["meeting", "position", "pk"]
        constraints = [
            # One undecided agenda item per referral, whatever the meeting.
            models.UniqueConstraint(fields=["referral"], condition=models.Q(decision=""),
                                    name="mdtagendaitem_one_pending_per_referral"),
            models.UniqueConstraint(fields=["meeting", "referral"],
                                    name="mdtagendaitem_once_per_meeting"),
        ]

    def __str__(self):
        return f"Agenda item {self.pk}: referral {self.referral_id}"

    @property
    def is_decided(self) -> bool:
        return bool(self.decision)

    @property
    def criteria_labels(self) -> list[str]:
        labels = dict(self.Criterion.choices)
        return [labels.get(c, c) for c in self.criteria]
