"""Demo data for metrics: one snapshot for the dashboard's default range (the 30 days
ending yesterday), computed in-process so the dashboard has something before any worker
has run."""

from .definitions import default_range
from .models import MetricSnapshot
from .services import snapshot_compute


def populate(ctx: dict) -> None:
    start, end = default_range()
    admin = (ctx.get("users") or {}).get("admin")
    snapshot = MetricSnapshot.objects.create(
        period_start=start, period_end=end, trigger=MetricSnapshot.Trigger.COMMAND,
        requested_by=admin if getattr(admin, "pk", None) else None)
    snapshot_compute(snapshot_id=snapshot.pk)
