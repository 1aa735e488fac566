from django.conf import settings
from django.db import models
from django.utils import timezone


class MetricSnapshot(models.Model):
    """The program metrics (docs/product.md §3.6) for one date range, service and site, computed by the
    Celery task `metrics.tasks.compute_snapshot`: daily by beat, and on demand from the
    dashboard (the page polls `status`/`progress` while the worker runs).

    `values` holds every metric of `metrics.definitions` for the range, `previous_values`
    the same for the range of equal length just before it (the KPI cards' change), and
    `series` one row per week of the range for the trend charts.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Daily schedule"
        ON_DEMAND = "on_demand", "On demand"
        COMMAND = "command", "Management command"

    period_start = models.DateField()
    period_end = models.DateField(help_text="Inclusive.")
    service = models.ForeignKey("referrals.Service", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+",
                                help_text="Empty: the whole program.")
    site = models.ForeignKey("patients.Site", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+", help_text="Empty: every site.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    trigger = models.CharField(max_length=10, choices=Trigger.choices,
                               default=Trigger.ON_DEMAND)
    values = models.JSONField(default=dict, blank=True)
    previous_values = models.JSONField(default=dict, blank=True)
    series = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["period_start", "period_end", "service", "site", "status"],
                         name="snapshot_scope_lookup"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(period_end__gte=models.F("period_start")),
                                   name="snapshot_period_ordered"),
            models.CheckConstraint(condition=models.Q(progress__lte=100),
                                   name="snapshot_progress_percent"),
        ]

    def __str__(self):
        scope = self.service_id or "program"
        return f"Metrics {self.period_start}..{self.period_end} ({scope}): {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class ResponderFact(models.Model):
    """One follow-up response of a responder measure (docs/product.md §3.6, "Responders"),
    with what the responder metrics need to know about it, worked out once by the worker
    (`metrics.rollups`) instead of on every dashboard query: whether it reached the MCID
    against the patient's first response of the measure, the patient's baseline risk group,
    the group sessions attended up to it, and the day of the patient's next response of the
    measure (a response is the patient's latest in a period exactly when it falls in the
    period and the next one does not)."""

    response = models.ForeignKey("outcomes.QuestionnaireResponse", on_delete=models.CASCADE,
                                 related_name="+")
    measure = models.CharField(max_length=40)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey("patients.Site", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(help_text="Local day the response was answered.")
    next_day = models.DateField(null=True, help_text="Local day of the patient's next "
                                                     "response of the measure; empty: none yet.")
    risk = models.CharField(max_length=10, blank=True)
    dose = models.PositiveIntegerField(help_text="Group sessions attended up to the response.")
    responder = models.BooleanField()
    not_improving = models.BooleanField(
        null=True, help_text="PEG only: answered 12 weeks or more after the intake date without "
                             "a 30 % fall on the baseline (it sets the patient's not-improving "
                             "flag); empty for other measures.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["measure", "response"],
                                               name="one_fact_per_measure_response")]
        indexes = [models.Index(fields=["measure", "day"], name="responder_fact_day"),
                   models.Index(fields=["patient"], name="responder_fact_patient")]


class ResponderDay(models.Model):
    """The daily roll-up of ResponderFact: follow-ups and responders counted per measure,
    site, day, next-response day, baseline risk group and attendance dose. The responder
    metrics for any period read a few hundred of these rows instead of every response."""

    measure = models.CharField(max_length=40)
    site = models.ForeignKey("patients.Site", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    next_day = models.DateField(null=True)
    risk = models.CharField(max_length=10, blank=True)
    dose = models.PositiveIntegerField()
    followups = models.PositiveIntegerField()
    responders = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["measure", "day"], name="responder_day")]


OPEN = "9999-12-31"  # an activity span still open, or no next span: later than any period


class ActivitySpan(models.Model):
    """One stretch of a patient's care activity (docs/product.md §3.6, "Active patients"):
    consecutive days with a referral open, a group session attended or a questionnaire
    answered, merged. `next_start` is the first day of the patient's next span. A patient is
    active in [start, end] exactly when one span overlaps it, and counted once by taking the
    overlapping span whose next one starts after `end`. The opioid doses are the patient's,
    copied when the spans were built (a dose change moves the patient's updated_at)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey("patients.Site", on_delete=models.CASCADE, related_name="+")
    start = models.DateField()
    end = models.DateField(help_text=f"Last day; {OPEN} while a referral is still open.")
    next_start = models.DateField(help_text=f"{OPEN} when there is no later span.")
    baseline_mme = models.DecimalField(max_digits=7, decimal_places=1, null=True)
    current_mme = models.DecimalField(max_digits=7, decimal_places=1, null=True)

    class Meta:
        indexes = [models.Index(fields=["patient"], name="activity_span_patient"),
                   models.Index(fields=["start"], name="activity_span_start")]


class ActivityDay(models.Model):
    """ActivitySpan counted per site, first day, last day and next span's first day, with
    the sums the active-patient dose figures need."""

    site = models.ForeignKey("patients.Site", on_delete=models.CASCADE, related_name="+")
    start = models.DateField()
    end = models.DateField()
    next_start = models.DateField()
    patients = models.PositiveIntegerField()
    paired = models.PositiveIntegerField(help_text="With both an intake and a latest dose.")
    baseline_mme_sum = models.DecimalField(max_digits=14, decimal_places=1)
    current_mme_sum = models.DecimalField(max_digits=14, decimal_places=1,
                                          help_text="Over the paired patients.")
    known = models.PositiveIntegerField(help_text="With a latest dose recorded.")
    on_opioids = models.PositiveIntegerField()
    mme_50 = models.PositiveIntegerField()
    mme_90 = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["start"], name="activity_day_start")]


EARLIEST = "0001-01-01"  # before any period


class ReferralStateFact(models.Model):
    """One stretch of a referral's history in one state (docs/product.md §3.6, "Referrals by
    state"): from the day of the event that moved it there to the day of the next event
    (OPEN for the latest). Before its first event a referral counts in its current status,
    as the live rule does. A referral is in `state` at the end of day `end` exactly when
    `from_day <= end < to_day`."""

    referral = models.ForeignKey("referrals.Referral", on_delete=models.CASCADE,
                                 related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey("patients.Site", on_delete=models.CASCADE, related_name="+")
    referred_day = models.DateField()
    state = models.CharField(max_length=20)
    from_day = models.DateField()
    to_day = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["patient"], name="referral_state_patient"),
                   models.Index(fields=["referred_day"], name="referral_state_referred")]


class ReferralStateDay(models.Model):
    """ReferralStateFact counted per site, day received, state and stretch."""

    site = models.ForeignKey("patients.Site", on_delete=models.CASCADE, related_name="+")
    referred_day = models.DateField()
    state = models.CharField(max_length=20)
    from_day = models.DateField()
    to_day = models.DateField()
    referrals = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["referred_day"], name="referral_state_day")]


class ChangedPatient(models.Model):
    """A patient whose rows changed since the roll-ups last saw them. Written only by the
    database triggers of migration 0006 (in the writer's transaction); drained by
    `metrics.rollups.refresh`. While any row is here the metrics read live."""

    patient_id = models.BigIntegerField(help_text="No foreign key: the patient may be gone.")
    queued_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        indexes = [models.Index(fields=["queued_at"], name="changed_patient_queued")]


class RollupState(models.Model):
    """Whether the roll-ups have been built, and when they were last refreshed."""

    name = models.CharField(max_length=40, unique=True)
    refreshed_at = models.DateTimeField(default=timezone.now)
    full_build_seconds = models.FloatField(null=True, blank=True)

    def __str__(self):
        return f"Roll-up {self.name} at {self.refreshed_at:%Y-%m-%d %H:%M}"
