"""Group visits pages (/groups/): series list and agenda, creating a series with its weekly
sessions, the roster with enrolment and waitlist, the tablet attendance sheet, and the
billing export. Every write calls a service; business errors come back as messages."""

import csv
from collections import OrderedDict

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from ipm import roles
from ipm.audit import audit_list, audit_record
from ipm.errors import DomainError, InvalidInput
from patients.models import Patient
from patients.scoping import sites_of, visible

from . import selectors, services
from .forms import CapacityForm, SeriesForm, SessionForm, WeeklySessionsForm
from .models import Attendance, Enrolment, GroupSeries, GroupSession
from .recurrence import weekly_sessions

STATUS_BUTTONS = [  # (status, label, Bootstrap colour) in the order they appear on the sheet
    (Attendance.Status.PRESENT, "Present", "success"),
    (Attendance.Status.ABSENT, "Absent", "danger"),
    (Attendance.Status.LATE_CANCEL, "Late cancel", "warning"),
    (Attendance.Status.EXCUSED, "Excused", "secondary"),
]


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _plan(form) -> list:
    data = form.cleaned_data
    return weekly_sessions(first_start=data["first_start"], weeks=data["weeks"],
                           duration_minutes=data["duration_minutes"],
                           tz=timezone.get_current_timezone())


# --- Series list, agenda, create -------------------------------------------------------------

@roles.requires("group.view")
@require_GET
def series_list(request):
    ended = request.GET.get("show") == "ended"
    # `?site=` as the appointments calendar reads it: one of your sites, else all of them.
    sites = list(sites_of(request.user).order_by("name", "pk"))
    site = next((s for s in sites if str(s.pk) == request.GET.get("site", "")), None)
    page = Paginator(selectors.series_list(ended=ended, user=request.user, site=site),
                     20).get_page(request.GET.get("page"))
    for series in page.object_list:
        series.available = selectors.available_places(series)
    return render(request, "visits/series_list.html", {
        "page_obj": page, "object_list": page.object_list, "is_paginated": page.has_other_pages(),
        "ended": ended, "upcoming": selectors.upcoming_sessions(days=14, limit=10, user=request.user,
                                                            site=site),
        "sites": sites if len(sites) > 1 else [], "site": site,
    })


@roles.requires("group.view")
@require_GET
def agenda(request):
    days: OrderedDict = OrderedDict()
    for session in selectors.upcoming_sessions(days=56, user=request.user):
        days.setdefault(timezone.localdate(session.starts_at), []).append(session)
    return render(request, "visits/agenda.html", {"days": days})


@roles.requires("group.manage")
def series_create(request):
    form = SeriesForm(request.POST or None, sites=sites_of(request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            series = services.series_create(
                name=data["name"], service=data["service"], capacity=data["capacity"],
                lead_clinician=data["lead_clinician"], facilitators=data["facilitators"],
                location=data["location"], video_link=data["video_link"], site=data["site"],
                sessions=_plan(form), actor=request.user)
        except DomainError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Series '{series.name}' created with "
                                      f"{data['weeks']} weekly sessions.")
            return redirect("visits:series-detail", pk=series.pk)
    return render(request, "visits/series_form.html", {"form": form})


def _add_errors(form, exc: DomainError) -> None:
    """A service's refusal on the form: each error on the field it names when that field is
    shown, the rest above the form with the message (unless a field already says it)."""
    errors = exc.errors or {}
    shown = {name for name, field in form.fields.items() if not field.widget.is_hidden}
    if exc.message not in {e for name, errs in errors.items() if name in shown for e in errs}:
        form.add_error(None, exc.message)
    for name, errs in errors.items():
        for err in errs:
            if name in shown:
                form.add_error(name, err)
            elif err != exc.message:
                form.add_error(None, err)


@roles.requires("group.manage")
@require_GET
def sessions_preview(request):
    """htmx: the dates a weekly plan gives, shown under the form before saving."""
    form = WeeklySessionsForm(request.GET)
    plan = _plan(form) if form.is_valid() else []
    return render(request, "visits/_sessions_preview.html", {"plan": plan, "form": form})


# --- One series: sessions, roster, enrolment ------------------------------------------------

@roles.requires("group.view")
@require_GET
def series_detail(request, pk):
    try:
        series = selectors.series_detail(pk, request.user)
    except GroupSeries.DoesNotExist:
        raise Http404("No such group series.") from None
    people = selectors.roster(series, request.user)
    q = request.GET.get("q", "").strip()
    audit_list(objects=people["enrolled"] + people["waitlisted"] + people["withdrawn"],
               request=request, object_type="visits.enrolment")
    return render(request, "visits/series_detail.html", {
        "series": series, "available": selectors.available_places(series),
        "sessions": selectors.series_sessions(series), "people": people,
        "now": timezone.now(),
        "q": q, "patients": _search_patients(request, series, q),
    })


def _search_patients(request, series, q: str) -> list:
    """Up to 10 patients matching an MRN or the start of their names, each with
    `series_status` (their enrolment status in this series, or "")."""
    if len(q) < 2:
        return []
    name = Q()
    for term in q.split():
        name &= Q(given_name__istartswith=term) | Q(family_name__istartswith=term)
    patients = list(visible(Patient.objects.all(), request.user, "").filter(Q(mrn__istartswith=q) | name)
                    .order_by("family_name", "given_name", "pk")[:10])
    audit_list(objects=patients, request=request)
    status = dict(Enrolment.objects.filter(series=series, patient__in=patients)
                  .values_list("patient_id", "status")) if patients else {}
    for p in patients:
        p.series_status = status.get(p.pk, "")
    return patients


@roles.requires("group.manage")
@require_GET
def patient_search(request, pk):
    """htmx: patients matching a name or MRN, each with its status in this series."""
    series = get_object_or_404(visible(GroupSeries.objects.all(), request.user, None), pk=pk)
    q = request.GET.get("q", "").strip()
    return render(request, "visits/_patient_results.html",
                  {"series": series, "patients": _search_patients(request, series, q), "q": q})


def _patient_from(request):
    pid = request.POST.get("patient", "")
    return (visible(Patient.objects.all(), request.user, "").filter(pk=pid).first()
            if pid.isdigit() else None)


@roles.requires("group.manage")
@require_POST
def enrol(request, pk):
    series = get_object_or_404(visible(GroupSeries.objects.all(), request.user, None), pk=pk)
    patient = _patient_from(request)
    if patient is None:
        messages.error(request, "Choose a patient to enrol.")
    else:
        try:
            enrolment = services.enrolment_create(series=series, patient=patient,
                                                  actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            if enrolment.status == Enrolment.Status.ENROLLED:
                messages.success(request, f"{patient.full_name} is enrolled.")
            else:
                position = services.waitlist_position(enrolment)
                messages.warning(request, f"The series is full: {patient.full_name} is on the "
                                          f"waitlist at position {position}.")
    return redirect("visits:series-detail", pk=series.pk)


@roles.requires("group.manage")
@require_POST
def withdraw(request, pk):
    series = get_object_or_404(visible(GroupSeries.objects.all(), request.user, None), pk=pk)
    patient = _patient_from(request)
    if patient is None:
        messages.error(request, "Choose a patient to withdraw.")
        return redirect("visits:series-detail", pk=series.pk)
    try:
        _, promoted = services.enrolment_withdraw(series=series, patient=patient,
                                                  actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        text = f"{patient.full_name} has been withdrawn."
        if promoted:
            text += (f" {promoted.patient.full_name} was promoted from the waitlist and "
                     "their session reminders are scheduled.")
        messages.success(request, text)
    return redirect("visits:series-detail", pk=series.pk)


@roles.requires("group.manage")
@require_POST
def sessions_add(request, pk):
    series = get_object_or_404(visible(GroupSeries.objects.all(), request.user, None), pk=pk)
    form = WeeklySessionsForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the first start, number of weeks and duration.")
    else:
        try:
            created = services.sessions_add(series=series, sessions=_plan(form),
                                            actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{len(created)} session(s) added.")
    return redirect("visits:series-detail", pk=series.pk)


@roles.requires("group.manage")
@require_POST
def series_capacity(request, pk):
    series = get_object_or_404(visible(GroupSeries.objects.all(), request.user, None), pk=pk)
    form = CapacityForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Capacity must be a whole number of at least 1.")
    else:
        try:
            services.series_update_capacity(series=series, capacity=form.cleaned_data["capacity"],
                                            actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Capacity set to {form.cleaned_data['capacity']}.")
    return redirect("visits:series-detail", pk=series.pk)


@roles.requires("group.view")
@require_GET
def billing_csv(request, pk):
    """Linked visits for billing: one row per person per attended session, with the
    session's billable lead and non-billable facilitators. `?status=all` adds every
    marked attendance (absent, late cancel, excused) with its status."""
    series = get_object_or_404(visible(GroupSeries.objects.all(), request.user, None), pk=pk)
    statuses = ([Attendance.Status.PRESENT] if request.GET.get("status") != "all"
                else list(services.MARKABLE))
    rows = list(visible(Attendance.objects.all(), request.user).filter(session__series=series, status__in=statuses,
                                          session__status=GroupSession.Status.SCHEDULED)
                .select_related("session", "session__lead_clinician",
                                "session__series__lead_clinician", "patient")
                .prefetch_related("session__facilitators")
                .order_by("session__starts_at", "patient__family_name",
                          "patient__given_name", "pk"))
    audit_record(request=request, action="export", obj=series,
                 detail={"export": "billing.csv",
                         "patient_ids": sorted({a.patient_id for a in rows})})
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="group-series-{series.pk}-billing.csv"'
    writer = csv.writer(response)
    writer.writerow(["session_date", "session_start", "patient_mrn", "patient_name",
                     "lead_clinician_billable", "facilitators_non_billable", "attendance_status",
                     "session_duration_minutes", "billable_clinician_username"])
    for a in rows:
        start = timezone.localtime(a.session.starts_at)
        writer.writerow([start.date().isoformat(), start.strftime("%H:%M"), a.patient.mrn,
                         a.patient.full_name, _person(a.session.lead_clinician),
                         "; ".join(_person(u) for u in a.session.facilitators.all()),
                         a.status, a.session.duration_minutes,
                         _billable(a.session).username if _billable(a.session) else ""])
    return response


def _billable(session):
    """The session's billable clinician: its own lead, else the series' lead."""
    return session.lead_clinician or session.series.lead_clinician


def _person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


# --- One session: attendance sheet, edit, cancel -------------------------------------------

def _session(pk, user) -> GroupSession:
    return get_object_or_404(visible(GroupSession.objects.select_related(
        "series", "series__service", "lead_clinician"), user, "series"), pk=pk)


def _sheet_context(session, rows) -> dict:
    summary = selectors.sheet_summary(rows)
    return {"session": session, "rows": rows, "summary": summary,
            "marked": summary["total"] - summary[Attendance.Status.UNRESOLVED],
            "buttons": STATUS_BUTTONS, "started": session.starts_at <= timezone.now(),
            "cancelled": session.status == GroupSession.Status.CANCELLED}


@roles.requires("group.view")
@require_GET
def attendance_sheet(request, pk):
    session = _session(pk, request.user)
    rows = selectors.attendance_sheet(session, request.user)
    audit_list(objects=[r["enrolment"] for r in rows], request=request,
               object_type="visits.attendance")
    return render(request, "visits/attendance_sheet.html", _sheet_context(session, rows))


@roles.requires("attendance.mark")
@require_POST
def attendance_mark(request, pk):
    session = _session(pk, request.user)
    patient = _patient_from(request)
    error = ""
    try:
        if patient is None:
            raise InvalidInput("Choose a person.")
        services.attendance_mark(session=session, patient=patient,
                                 status=request.POST.get("status", ""), actor=request.user)
    except DomainError as exc:
        error = exc.message
    if not _is_htmx(request):
        if error:
            messages.error(request, error)
        return redirect("visits:attendance-sheet", pk=session.pk)
    rows = selectors.attendance_sheet(session, request.user)
    row = next((r for r in rows if patient is not None and r["patient"].pk == patient.pk), None)
    ctx = {**_sheet_context(session, rows), "row": row, "error": error, "oob": True}
    return render(request, "visits/_attendance_row.html", ctx)


@roles.requires("group.manage")
def session_edit(request, pk):
    session = _session(pk, request.user)
    initial = {"starts_at": timezone.localtime(session.starts_at),
               "duration_minutes": session.duration_minutes,
               "lead_clinician": session.lead_clinician,
               "facilitators": list(session.facilitators.all())}
    form = SessionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.session_update(session=session, starts_at=data["starts_at"],
                                    duration_minutes=data["duration_minutes"],
                                    lead_clinician=data["lead_clinician"], set_lead=True,
                                    facilitators=data["facilitators"], actor=request.user)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Session updated; reminders follow the new time.")
            return redirect("visits:series-detail", pk=session.series_id)
    return render(request, "visits/session_form.html", {"form": form, "session": session})


@roles.requires("group.manage")
@require_POST
def session_cancel(request, pk):
    session = _session(pk, request.user)
    try:
        services.session_cancel(session=session, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        when = timezone.localtime(session.starts_at).strftime("%d %b %Y %H:%M")
        messages.success(request, f"Session on {when} cancelled; its pending reminders "
                                  "are cancelled.")
    target = request.POST.get("next", "")
    if target == "sheet":
        return redirect("visits:attendance-sheet", pk=session.pk)
    return redirect(reverse("visits:series-detail", args=[session.series_id]) + "#sessions")
