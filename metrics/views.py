"""The administrator's dashboard: KPI cards, trend charts and breakdowns from the latest
snapshot for the chosen range and service, an on-demand recompute that runs in the worker
(the page polls its progress with htmx), and a CSV export of every number shown.
Aggregates only: no patient is named on these pages."""

import csv

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ipm import roles
from ipm.audit import audit_record
from ipm.db.replica import replica_view
from ipm.errors import InvalidInput
from patients.models import Site
from referrals.models import Service

from . import presenters, selectors, services
from .definitions import METRICS, Scope, default_range
from .filters import period_phrase, presets, scope_from_params
from .models import MetricSnapshot

# The trend and breakdown charts: key (as in presenters.chart_data), title, and the metrics
# whose definitions explain it.
CHARTS = [
    ("intakes", "New intakes per week", "new_intakes", ["new_intakes"]),
    ("wait_times", "Median wait from referral (days)", "median_days_referral_to_triage",
     ["median_days_referral_to_triage", "median_days_referral_to_first_visit"]),
    ("attendance", "Attendance and triage SLA (%)", "attendance_rate",
     ["attendance_rate", "pct_over_sla"]),
    ("responders", "Responders by measure (%)", "responders", ["responders"]),
    ("mme", "Mean daily opioid dose (MME)", "mean_mme_latest",
     ["mean_mme_intake", "mean_mme_latest"]),
    ("risk_mix", "Risk mix of new patients", "risk_mix", ["risk_mix"]),
    ("referrals_by_state", "Referrals by state", "referrals_by_state", ["referrals_by_state"]),
]


def _filters_query(scope: Scope) -> str:
    params = {"from": scope.start.isoformat(), "to": scope.end.isoformat(),
              "service": scope.service.code if scope.service else ""}
    if scope.site:
        params["site"] = scope.site.code
    return urlencode(params)


def _dashboard_url(scope: Scope) -> str:
    return f"{reverse('metrics-dashboard')}?{_filters_query(scope)}"


def _scope_or_default(request) -> Scope:
    try:
        return scope_from_params(request.GET)
    except InvalidInput as exc:
        messages.error(request, exc.message)
        start, end = default_range()
        return Scope(start, end)


@never_cache
@require_GET
@roles.requires("metrics.view")
@replica_view
def dashboard(request):
    scope = _scope_or_default(request)
    snapshot = selectors.snapshot_latest(scope)
    ctx = {
        "scope": scope, "services": Service.objects.order_by("name"),
        "sites": Site.objects.order_by("name"),
        "snapshot": snapshot, "in_flight": selectors.snapshot_in_flight(scope),
        "filters_query": _filters_query(scope), "previous": scope.previous(),
        "period": period_phrase(scope.start, scope.end),
        "includes_today": scope.start <= timezone.localdate() <= scope.end,
        "presets": presets(), "scope_from": scope.start.isoformat(),
        "scope_to": scope.end.isoformat(),
        "definitions": [(key, m.label, m.definition) for key, m in METRICS.items()],
    }
    if snapshot is not None:
        values = presenters.normalise(snapshot.values)
        previous = presenters.normalise(snapshot.previous_values)
        ctx.update({
            "cards": presenters.kpi_cards(values, previous),
            "breakdowns": [presenters.breakdown_table(key, values, previous)
                           for key in ("risk_mix", "referrals_by_state", "responders",
                                       "dna_rate_by_service", "booked_hours_ratio")],
            "splits": [presenters.split_table(key, values)
                       for key in ("responders_by_risk_group", "responders_by_attendance_dose")],
            "site_tables": [presenters.site_table(
                "alert_acknowledgement_by_site", values,
                dict(Site.objects.values_list("code", "name")))],
            "chart_data": presenters.chart_data(values, snapshot.series),
            "charts": [{"key": key, "title": title, "footnote": footnote,
                        "definition": " ".join(METRICS[k].definition for k in footnotes)}
                       for key, title, footnote, footnotes in CHARTS],
        })
    return render(request, "metrics/dashboard.html", ctx)


@require_POST
@roles.requires("metrics.view")
def snapshot_create(request):
    """Queue a snapshot for the filters; htmx gets the progress fragment to poll."""
    try:
        scope = scope_from_params(request.POST)
    except InvalidInput as exc:
        if request.headers.get("HX-Request"):
            return HttpResponse(format_html('<div class="alert alert-danger" role="alert">{}</div>',
                                            exc.message))
        messages.error(request, exc.message)
        return redirect("metrics-dashboard")
    snapshot = services.snapshot_request(scope=scope, actor=request.user)
    if request.headers.get("HX-Request"):
        return _progress_response(request, snapshot)
    messages.info(request, "Computing the metrics in the background.")
    return redirect(_dashboard_url(scope))


@never_cache
@require_GET
@roles.requires("metrics.view")
def snapshot_progress(request, pk: int):
    snapshot = get_object_or_404(MetricSnapshot.objects.select_related("service", "site"), pk=pk)
    return _progress_response(request, snapshot)


def _progress_response(request, snapshot: MetricSnapshot) -> HttpResponse:
    snapshot.refresh_from_db()
    response = render(request, "metrics/_progress.html", {"snapshot": snapshot})
    if snapshot.status == MetricSnapshot.Status.DONE:
        scope = Scope(snapshot.period_start, snapshot.period_end, snapshot.service, snapshot.site)
        response["HX-Redirect"] = _dashboard_url(scope)
    return response


@never_cache
@require_GET
@roles.requires("metrics.view")
@replica_view
def export_csv(request):
    """Every number the dashboard shows for the filters, with its definition: the period's
    values with the previous period and change, then the weekly trend series."""
    try:
        scope = scope_from_params(request.GET)
    except InvalidInput as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    snapshot = selectors.snapshot_latest(scope)
    if snapshot is not None:
        values, previous, series = snapshot.values, snapshot.previous_values, snapshot.series
        computed_at = snapshot.computed_at
    else:
        payload = services.compute_payload(scope)
        values, previous, series = payload["values"], payload["previous_values"], payload["series"]
        computed_at = scope.now
    values, previous = presenters.normalise(values), presenters.normalise(previous)
    audit_record(request=request, actor=request.user, action="metrics.export",
                 object_type="metrics.metricsnapshot",
                 object_id=str(snapshot.pk) if snapshot else "",
                 detail={"from": scope.start.isoformat(), "to": scope.end.isoformat(),
                         "service": scope.service.code if scope.service else None,
                         "site": scope.site.code if scope.site else None})
    service = scope.service.code if scope.service else "program"
    site = scope.site.code if scope.site else ""
    where = f"{service}-{site}" if site else service
    filename = f"ipm-metrics-{where}-{scope.start}-{scope.end}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(["section", "metric", "label", "period_start", "period_end", "value",
                     "previous_value", "change", "service", "computed_at", "definition",
                     "site"])
    stamp = timezone.localtime(computed_at).isoformat(timespec="seconds")
    previous_scope = scope.previous()
    for row in presenters.period_rows(values, previous):
        writer.writerow(["period", row["path"], row["label"], scope.start, scope.end,
                         _cell(row["value"]), _cell(row["previous"]), _cell(row["change"]),
                         service, stamp, row["definition"], site])
    for row in presenters.period_rows(previous):
        writer.writerow(["previous_period", row["path"], row["label"], previous_scope.start,
                         previous_scope.end, _cell(row["value"]), "", "", service, stamp,
                         row["definition"], site])
    for row in presenters.week_rows(series):
        writer.writerow(["week", row["path"], row["label"], row["week_start"], row["week_end"],
                         _cell(row["value"]), "", "", service, stamp, row["definition"], site])
    return response


def _cell(value) -> str:
    return "" if value is None else str(value)
