"""Appointment pages (/appointments/): day and week calendars per clinician, service or site
with free slots to click, the booking form (prefilled from a slot or a referral in the
triage queue), an appointment with its status buttons and visit note, clinicians' weekly
hours and leave, the attendance-review action and the private iCalendar feed.
Every write calls a service; business errors come back as form errors or messages."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from icalendar import Calendar, Event

from ipm import roles
from ipm.audit import audit_list, audit_record
from ipm.errors import DomainError
from patients.models import Patient, Program
from referrals.models import Referral, Service

from . import rules, selectors, services
from .availability import bookable_clinicians
from .forms import AddendumForm, BookingForm, LeaveForm, NoteForm, StatusForm, WeeklyHoursForm
from .models import (
    Appointment,
    AttendanceReview,
    AvailabilityException,
    CalendarFeed,
    WeeklyAvailability,
)

User = get_user_model()
FEED_PAST_DAYS, FEED_FUTURE_DAYS = 30, 180


def _next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return default


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _date(value, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


# --- Calendar -------------------------------------------------------------------------------

@roles.requires("appointment.view")
@require_GET
def calendar_view(request, view="week"):
    program = Program.default()
    tz = ZoneInfo(program.time_zone)
    params = request.GET
    referral = None
    if _int(params.get("referral")):
        referral = get_object_or_404(
            Referral.objects.select_related("patient", "service").filter(
                patient__in=Patient.objects.visible_to(request.user)),
            pk=_int(params["referral"]))
    clinician = bookable_clinicians().filter(pk=_int(params.get("clinician"))).first()
    service = Service.objects.filter(code=params.get("service") or "").first()
    if service is None and referral is not None:
        service = referral.service
    site = selectors.sites_of(request.user).filter(pk=_int(params.get("site"))).first()
    minutes = _int(params.get("duration_minutes")) or 45
    minutes = min(max(minutes, rules.MIN_DURATION), rules.MAX_DURATION)
    today = timezone.now().astimezone(tz).date()
    day = _date(params.get("date"), today)
    if view == "week":
        start, days = day - timedelta(days=day.weekday()), 7
    else:
        start, days = day, 1
    columns = selectors.calendar(user=request.user, program=program, start=start, days=days,
                                 clinician=clinician, service=service, site=site,
                                 slot_minutes=minutes, now=timezone.now())
    shown = [a for c in columns for a in c.appointments]
    audit_list(objects=shown, request=request, actor=request.user,
               object_type="appointments.appointment")
    keep = {k: v for k, v in {"clinician": getattr(clinician, "pk", ""),
                              "service": getattr(service, "code", ""),
                              "site": getattr(site, "pk", ""),
                              "duration_minutes": minutes,
                              "referral": getattr(referral, "pk", "")}.items() if v}
    step = timedelta(days=days)

    def link(to_view, to_day):
        return f"/appointments/{to_view}/?" + urlencode({**keep, "date": to_day.isoformat()})

    for column in columns:
        for slot in column.slots:
            slot.book_url = "/appointments/new/?" + urlencode({
                **{k: v for k, v in keep.items() if k != "site"},
                "clinician": slot.clinician.pk, "site": slot.site_id,
                "service": getattr(service, "code", ""), "duration_minutes": minutes,
                "starts_at": slot.start.astimezone(tz).strftime("%Y-%m-%dT%H:%M")})
    return render(request, "appointments/calendar.html", {
        "view": view, "columns": columns, "start": start, "end": start + step - timedelta(1),
        "today": today, "clinician": clinician, "service": service, "site": site,
        "minutes": minutes, "referral": referral,
        "clinicians": bookable_clinicians(), "services": Service.objects.filter(active=True),
        "sites": selectors.sites_of(request.user),
        "prev_url": link(view, start - step), "next_url": link(view, start + step),
        "today_url": link(view, today), "week_url": link("week", start),
        "day_links": [(c.day, link("day", c.day)) for c in columns],
        "filters_needed": clinician is None and service is None,
    })


# --- Booking --------------------------------------------------------------------------------

@roles.requires("appointment.book")
def book_view(request):
    patients = Patient.objects.visible_to(request.user)
    sites = selectors.sites_of(request.user)
    referral = None
    source = request.POST if request.method == "POST" else request.GET
    if _int(source.get("referral")):
        referral = (Referral.objects.select_related("patient", "service")
                    .filter(patient__in=patients, pk=_int(source.get("referral"))).first())
    if request.method == "POST":
        form = BookingForm(request.POST, patients=patients, sites=sites)
        if form.is_valid():
            v = form.cleaned_data
            try:
                appt = services.appointment_book(
                    patient=v["patient"], clinician=v["clinician"], service=v["service"],
                    site=v["site"], referral=v["referral"], starts_at=v["starts_at"],
                    duration_minutes=v["duration_minutes"], mode=v["mode"],
                    override=v["override"], reason=v["reason"], actor=request.user)
            except DomainError as exc:
                for name, errs in (exc.errors or {"__all__": [exc.message]}).items():
                    form.add_error(name if name in form.fields else None, errs)
            else:
                messages.success(request, f"Booked {appt.patient.full_name} on "
                                          f"{timezone.localtime(appt.starts_at):%a %d %b %H:%M}.")
                return redirect(f"/appointments/{appt.pk}/")
    else:
        initial = {k: source.get(k) for k in ("patient", "clinician", "site", "starts_at",
                                              "duration_minutes", "mode") if source.get(k)}
        if source.get("service"):
            initial["service"] = Service.objects.filter(code=source["service"]).first()
        if referral is not None:
            initial.update(patient=referral.patient_id, referral=referral.pk,
                           service=initial.get("service") or referral.service)
        form = BookingForm(initial=initial, patients=patients, sites=sites)
    return render(request, "appointments/book.html", {"form": form, "referral": referral})


# --- One appointment ------------------------------------------------------------------------

def _appointment_or_404(request, pk) -> Appointment:
    try:
        return selectors.appointment_detail(request.user, pk)
    except Appointment.DoesNotExist:
        raise Http404


@roles.requires("appointment.view")
@require_GET
def appointment_view(request, pk):
    appt = _appointment_or_404(request, pk)
    audit_record(request=request, actor=request.user, action="read", obj=appt)
    note = appt.visit_note
    can_write = roles.can(request.user, "note.write") and appt.status == rules.ATTENDED
    note_form = None
    if can_write and (note is None or (note.author_id == request.user.pk and not note.is_signed)):
        note_form = NoteForm(initial={f: getattr(note, f) for f in
                                      (*services.NOTE_FIELDS, "minutes")} if note else None)
    return render(request, "appointments/detail.html", {
        "appt": appt, "note": note, "note_form": note_form,
        "addendum_form": AddendumForm() if note and note.is_signed and roles.can(
            request.user, "note.write") else None,
        "can_mark": appt.status == rules.BOOKED
        and timezone.now() >= appt.starts_at - rules.MARK_FROM_BEFORE_START,
        "can_cancel": appt.status == rules.BOOKED,
    })


@roles.requires("appointment.book")
@require_POST
def status_view(request, pk):
    appt = _appointment_or_404(request, pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose what happened.")
    else:
        try:
            services.appointment_status_set(appointment=appt, status=form.cleaned_data["status"],
                                            reason=form.cleaned_data["reason"],
                                            actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Marked {Appointment.Status(form.cleaned_data['status']).label.lower()}.")
    return redirect(_next(request, f"/appointments/{appt.pk}/"))


@roles.requires("note.write")
@require_POST
def note_view(request, pk):
    appt = _appointment_or_404(request, pk)
    action = request.POST.get("action", "save")
    try:
        if action == "addendum":
            form = AddendumForm(request.POST)
            if not form.is_valid() or appt.visit_note is None:
                messages.error(request, "Write the addendum.")
            else:
                services.visit_note_addendum_add(note=appt.visit_note,
                                                 text=form.cleaned_data["text"],
                                                 actor=request.user)
                messages.success(request, "Addendum added.")
        else:
            form = NoteForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Minutes must be from 0 to 600.")
            else:
                note = services.visit_note_save(appointment=appt, actor=request.user,
                                                **form.cleaned_data)
                if action == "sign":
                    services.visit_note_sign(note=note, actor=request.user)
                    messages.success(request, "Note signed.")
                else:
                    messages.success(request, "Note saved (not signed).")
    except PermissionDenied:
        messages.error(request, "Only the note's author can change it.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(f"/appointments/{appt.pk}/")


@roles.requires("appointment.book")
@require_POST
def review_close_view(request, pk):
    review = get_object_or_404(AttendanceReview.objects.filter(
        patient__in=Patient.objects.visible_to(request.user)), pk=pk)
    try:
        services.attendance_review_close(review=review, actor=request.user,
                                         note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Review recorded.")
    return redirect(_next(request, "/care/worklist/"))


# --- Availability ---------------------------------------------------------------------------

@roles.requires("staff.availability")
def availability_view(request):
    """Weekly hours and leave of one clinician at one site (coordinators and admins)."""
    clinicians = bookable_clinicians()
    sites = selectors.sites_of(request.user) if not roles.has_role(request.user, roles.ADMIN) \
        else Program.default().sites.all()
    source = request.POST if request.method == "POST" else request.GET
    clinician = clinicians.filter(pk=_int(source.get("clinician"))).first()
    site = sites.filter(pk=_int(source.get("site"))).first() or sites.first()
    hours_form = leave_form = None
    if clinician is not None and site is not None:
        rows = WeeklyAvailability.objects.filter(clinician=clinician, site=site,
                                                 service__isnull=True)
        initial = {}
        for row in rows:
            initial[f"start_{row.weekday}"] = row.start_time
            initial[f"end_{row.weekday}"] = row.end_time
        hours_form = WeeklyHoursForm(initial=initial)
        leave_form = LeaveForm()
        if request.method == "POST":
            here = f"/appointments/availability/?clinician={clinician.pk}&site={site.pk}"
            try:
                if source.get("action") == "leave":
                    leave_form = LeaveForm(request.POST)
                    if leave_form.is_valid():
                        services.availability_exception_add(
                            clinician=clinician, actor=request.user,
                            starts_at=leave_form.cleaned_data["starts_at"],
                            ends_at=leave_form.cleaned_data["ends_at"],
                            reason=leave_form.cleaned_data["reason"])
                        messages.success(request, "Leave recorded.")
                        return redirect(here)
                elif source.get("action") == "remove_leave":
                    row = get_object_or_404(AvailabilityException, clinician=clinician,
                                            pk=_int(source.get("exception")))
                    services.availability_exception_remove(exception=row, actor=request.user)
                    messages.success(request, "Leave removed.")
                    return redirect(here)
                else:
                    hours_form = WeeklyHoursForm(request.POST)
                    if hours_form.is_valid():
                        windows = hours_form.windows()
                        if hours_form.is_valid():
                            kept = [(w.weekday, w.start_time, w.end_time, w.service)
                                    for w in WeeklyAvailability.objects.filter(
                                        clinician=clinician, site=site, service__isnull=False)]
                            services.weekly_availability_set(clinician=clinician, site=site,
                                                             windows=windows + kept,
                                                             actor=request.user)
                            messages.success(request, "Weekly hours saved.")
                            return redirect(here)
            except DomainError as exc:
                messages.error(request, exc.message)
    return render(request, "appointments/availability.html", {
        "clinicians": clinicians, "sites": sites, "clinician": clinician, "site": site,
        "hours_form": hours_form, "leave_form": leave_form,
        "weekday_rows": [(name, hours_form[f"start_{i}"], hours_form[f"end_{i}"])
                         for i, (_n, name) in enumerate(rules.WEEKDAY_CHOICES)]
        if hours_form else [],
        "leave": AvailabilityException.objects.filter(
            clinician=clinician, ends_at__gt=timezone.now()) if clinician else [],
        "service_windows": WeeklyAvailability.objects.filter(
            clinician=clinician, site=site, service__isnull=False).select_related("service")
        if clinician else [],
    })


# --- iCalendar feed -------------------------------------------------------------------------

@roles.requires("appointment.feed")
@require_POST
def feed_regenerate_view(request):
    """A clinician makes (or replaces) their own feed link; coordinators may do it for a
    clinician (admins, who see no patient data, do not: the feed shows initials). The link
    is shown once."""
    target = request.user
    if _int(request.POST.get("clinician")) and _int(request.POST["clinician"]) != request.user.pk:
        if not roles.has_role(request.user, roles.COORDINATOR):
            raise PermissionDenied
        target = get_object_or_404(bookable_clinicians(), pk=_int(request.POST["clinician"]))
    try:
        token = services.calendar_feed_regenerate(clinician=target, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        url = request.build_absolute_uri(f"/appointments/feed/{token}.ics")
        messages.success(request, f"New private calendar link (shown once; the old one no "
                                  f"longer works): {url}")
    return redirect(_next(request, "/appointments/week/"))


@require_GET
@login_not_required
def feed_view(request, token):
    """The clinician's diary as iCalendar: times, length, mode and the patient's initials;
    no names, services or clinical detail. The token is the credential."""
    feed = (CalendarFeed.objects.select_related("clinician")
            .filter(token_hash=services.feed_token_hash(token)).first())
    if feed is None or not feed.clinician.is_active:
        raise Http404
    now = timezone.now()
    appts = (Appointment.objects.filter(clinician=feed.clinician, status__in=rules.HOLDS_TIME,
                                        starts_at__gte=now - timedelta(days=FEED_PAST_DAYS),
                                        starts_at__lt=now + timedelta(days=FEED_FUTURE_DAYS))
             .select_related("patient").order_by("starts_at"))
    cal = Calendar()
    cal.add("prodid", "-//IPM//Clinician diary//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "IPM appointments")
    for appt in appts:
        event = Event()
        event.add("uid", f"appointment-{appt.pk}@ipm")
        event.add("dtstamp", appt.updated_at)
        event.add("dtstart", appt.starts_at)
        event.add("dtend", appt.ends_at)
        who = rules.initials(appt.patient.given_name, appt.patient.family_name)
        event.add("summary", f"{who} ({appt.get_mode_display().lower()})")
        cal.add_component(event)
    audit_record(actor=feed.clinician, action="calendar_feed.read", object_type="auth.user",
                 object_id=feed.clinician_id, detail={"appointments": len(appts)})
    response = HttpResponse(cal.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response
