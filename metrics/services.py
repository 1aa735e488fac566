"""Writes for metrics: request a snapshot (queued to the worker), and compute one (called by
the task and the management command). Tasks take snapshot ids; a conditional UPDATE claims
the row so two workers never compute the same snapshot."""

import contextvars
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from ipm.audit import audit_record
from ipm.db.replica import on_replica
from ipm.queue import enqueue_on_commit

from . import definitions, rollups, selectors
from .definitions import Scope
from .models import MetricSnapshot

log = logging.getLogger(__name__)


@transaction.atomic
def snapshot_request(*, scope: Scope, actor=None,
                     trigger: str = MetricSnapshot.Trigger.ON_DEMAND) -> MetricSnapshot:
    """Queue a snapshot for the scope, or return the one already queued or running."""
    in_flight = selectors.snapshot_in_flight(scope)
    if in_flight is not None:
        return in_flight
    snapshot = snapshot_create(scope=scope, trigger=trigger, actor=actor)
    audit_record(actor=actor, action="metrics.snapshot_requested", obj=snapshot,
                 detail={"from": scope.start.isoformat(), "to": scope.end.isoformat(),
                         "service": scope.service.code if scope.service else None,
                         "site": scope.site.code if scope.site else None})
    # Queued once the request commits; parked and sent later if the broker is down.
    enqueue_on_commit("metrics.tasks.compute_snapshot", snapshot.pk)
    return snapshot


def snapshot_create(*, scope: Scope, trigger: str = MetricSnapshot.Trigger.COMMAND,
                    actor=None) -> MetricSnapshot:
    """A pending snapshot to compute in this process (`manage.py compute_metrics`)."""
    return MetricSnapshot.objects.create(
        period_start=scope.start, period_end=scope.end, service=scope.service, site=scope.site,
        trigger=trigger,
        requested_by=actor if getattr(actor, "pk", None) else None)


@transaction.atomic
def snapshot_daily(*, today=None) -> MetricSnapshot:
    """The scheduled snapshot (30 days ending yesterday, whole program), created once per
    range however often beat fires."""
    start, end = definitions.default_range(today)
    existing = (MetricSnapshot.objects
                .filter(period_start=start, period_end=end, service=None, site=None,
                        trigger=MetricSnapshot.Trigger.SCHEDULE)
                .exclude(status=MetricSnapshot.Status.FAILED).first())
    if existing is not None:
        return existing
    return MetricSnapshot.objects.create(period_start=start, period_end=end,
                                         trigger=MetricSnapshot.Trigger.SCHEDULE)


def snapshot_compute(*, snapshot_id: int, on_progress=None) -> MetricSnapshot | None:
    """Claim and compute one snapshot: the period's values, the previous period's, and one
    row per week for the trends. Returns None when another worker holds or finished it.
    Progress (whole percent) goes on the row for the dashboard, and to `on_progress` (the
    command's progress bar)."""
    now = timezone.now()
    claimable = (Q(status=MetricSnapshot.Status.PENDING)
                 | Q(status=MetricSnapshot.Status.RUNNING,
                     started_at__lt=now - selectors.IN_FLIGHT_FOR))
    claimed = (MetricSnapshot.objects.filter(claimable, pk=snapshot_id)
               .update(status=MetricSnapshot.Status.RUNNING, started_at=now, progress=0,
                       error=""))
    if not claimed:
        return None
    snapshot = MetricSnapshot.objects.select_related("service", "site").get(pk=snapshot_id)
    scope = Scope(snapshot.period_start, snapshot.period_end, snapshot.service, snapshot.site)
    rows = MetricSnapshot.objects.filter(pk=snapshot_id)
    try:
        if rollups.enabled():
            rollups.refresh()  # on the primary: the worker builds them the first time
        # Heavy reads on the replica when there is one; the progress updates are writes and
        # go to the primary whatever the router says about reads.
        def progress(pct):
            rows.update(progress=pct)
            if on_progress:
                on_progress(pct)

        payload = on_replica(compute_payload, scope, on_progress=progress)
    except Exception as exc:  # noqa: BLE001 - recorded on the row, shown on the dashboard
        log.exception("metrics snapshot %s failed", snapshot_id)
        rows.update(status=MetricSnapshot.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000],
                    computed_at=timezone.now())
        snapshot.refresh_from_db()
        return snapshot
    rows.update(status=MetricSnapshot.Status.DONE, progress=100, computed_at=timezone.now(),
                **payload)
    snapshot.refresh_from_db()
    return snapshot


def compute_payload(scope: Scope, on_progress=None) -> dict:
    """`values`, `previous_values` and weekly `series` for a scope, reporting progress in
    whole percent (at most once per percent).

    The period, the previous period and the weeks are independent: with
    IPM_METRICS_PARALLEL > 1 on PostgreSQL they run that many at a time, each on its own
    database connection (in the caller's context, so replica routing carries over), and
    the connections are closed when done."""
    weeks = scope.weeks()
    trend = definitions.trend_keys()
    total = 2 * len(definitions.METRICS) + len(weeks) * len(trend)
    state = {"done": 0, "reported": 0}
    lock = threading.Lock()

    def tick():
        # Under the lock, so two threads never report out of order (11 %, then 10 %).
        with lock:
            state["done"] += 1
            pct = min(99, state["done"] * 100 // total)
            if pct <= state["reported"]:
                return
            state["reported"] = pct
            if on_progress:
                on_progress(pct)

    jobs = [(scope, None), (scope.previous(), None), *((week, trend) for week in weeks)]
    workers = _parallel_workers()
    if workers <= 1:
        results = [definitions.compute(part, keys, on_step=tick) for part, keys in jobs]
    else:
        def run(part, keys):
            try:
                return definitions.compute(part, keys, on_step=tick)
            finally:
                connections.close_all()  # this thread's connections, not the caller's

        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(contextvars.copy_context().run, run, part, keys)
                       for part, keys in jobs]
            results = [future.result() for future in futures]
    values, previous, *per_week = results
    series = [{"week_start": week.start.isoformat(), "week_end": week.end.isoformat(), **row}
              for week, row in zip(weeks, per_week, strict=True)]
    return {"values": values, "previous_values": previous, "series": series}


def _parallel_workers() -> int:
    """Threads see committed rows only: not inside a transaction (tests), not on SQLite."""
    workers = int(getattr(settings, "IPM_METRICS_PARALLEL", 1))
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return workers
