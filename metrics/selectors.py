"""Reads for metrics: the snapshot that matches a scope, and the metrics for a scope from a
fresh snapshot or computed live. Aggregates only: nothing here reads patient rows out."""

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ipm.db.replica import on_replica

from . import definitions, rollups
from .definitions import Scope
from .models import MetricSnapshot
from .presenters import normalise

IN_FLIGHT_FOR = dt.timedelta(minutes=30)  # a run older than this is presumed dead


def _for_scope(scope: Scope):
    return MetricSnapshot.objects.filter(period_start=scope.start, period_end=scope.end,
                                         service=scope.service, site=scope.site)


def snapshot_latest(scope: Scope) -> MetricSnapshot | None:
    """The most recently computed finished snapshot for exactly this range, service and site."""
    return (_for_scope(scope).filter(status=MetricSnapshot.Status.DONE)
            .select_related("service", "site").order_by("-computed_at", "-pk").first())


def snapshot_in_flight(scope: Scope) -> MetricSnapshot | None:
    """A queued or running snapshot for this scope, if one started recently."""
    recent = timezone.now() - IN_FLIGHT_FOR
    return (_for_scope(scope)
            .filter(Q(status=MetricSnapshot.Status.PENDING, created_at__gte=recent)
                    | Q(status=MetricSnapshot.Status.RUNNING, started_at__gte=recent))
            .order_by("-created_at", "-pk").first())


def fresh_seconds() -> int:
    return int(getattr(settings, "IPM_METRICS_FRESH_SECONDS", 300))


def program_metrics(scope: Scope) -> dict:
    """Every metric for the scope, with `from`, `to`, `service`, `site`, `definitions`,
    `computed_at` and `source`: from a snapshot computed in the last few minutes
    (IPM_METRICS_FRESH_SECONDS, default 300), else computed live."""
    snapshot = snapshot_latest(scope)
    fresh = (snapshot is not None
             and snapshot.computed_at >= timezone.now() - dt.timedelta(seconds=fresh_seconds()))
    if fresh:
        values, computed_at, source = (normalise(snapshot.values), snapshot.computed_at,
                                       "snapshot")
    else:
        rollups.refresh_if_built()  # catch up with the last few minutes' responses first
        values, computed_at, source = on_replica(definitions.compute, scope), scope.now, "live"
    return {
        "from": scope.start, "to": scope.end,
        "service": scope.service.code if scope.service else None,
        "site": scope.site.code if scope.site else None,
        **{key: values.get(key) for key in definitions.METRICS},
        "definitions": definitions.definitions(),
        "computed_at": computed_at, "source": source,
    }
