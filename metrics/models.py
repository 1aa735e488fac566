from django.conf import settings
from django.db import models
from django.utils import timezone


class MetricSnapshot(models.Model):
    """The program metrics (docs/product.md §3.6) for one date range and service, computed by the
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
            models.Index(fields=["period_start", "period_end", "service", "status"],
                         name="snapshot_lookup"),
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
