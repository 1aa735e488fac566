"""Care pages: the care-manager worklist, the quick forms of the patient page and the
worklist (contact, step decision, goal, PSFS link), and the monthly billing export.
Every write calls one service; business errors come back as flash messages."""

from __future__ import annotations

import csv
from urllib.parse import urlsplit

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from ipm.audit import audit_list, audit_record
from ipm.errors import DomainError
from ipm.roles import can, requires
from patients.models import Patient
from referrals.models import MdtMeeting

from . import selectors, services
from .api import billing_patients
from .models import STEP_LABELS, BillingCode, Contact, Goal


def _patient(request, pk: int) -> Patient:
    return get_object_or_404(Patient.objects.visible_to(request.user), pk=pk)


def _back(request, default: str):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect(default)


def _error(request, exc: DomainError) -> None:
    detail = "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in exc.errors.items())
    messages.error(request, f"{exc.message}" + (f" ({detail})" if detail and
                                                 detail.split(': ', 1)[-1] != exc.message else ""))


# --- Worklist ------------------------------------------------------------------------------

@requires("care.view")
@require_GET
def worklist(request):
    mine = request.GET.get("mine") == "1"
    data = selectors.worklist(user=request.user, mine=mine)
    audit_list(objects=data["shown_patients"], request=request, actor=request.user,
               object_type="patients.patient")
    return render(request, "care/worklist.html", {
        **data, "mine": mine, "can_step": can(request.user, "care.step"),
        "contact_kinds": Contact.Kind.choices, "contact_outcomes": Contact.Outcome.choices,
        "step_choices": list(STEP_LABELS.items())})


# --- Quick forms ---------------------------------------------------------------------------

@requires("care.contact")
@require_POST
def contact_new(request, pk: int):
    patient = _patient(request, pk)
    try:
        contact = services.contact_create(
            patient=patient, kind=request.POST.get("kind"), minutes=request.POST.get("minutes"),
            outcome=request.POST.get("outcome"), note=request.POST.get("note", ""),
            next_contact_on=request.POST.get("next_contact_on") or None, actor=request.user)
    except DomainError as exc:
        _error(request, exc)
    else:
        when = (f" Next contact {contact.next_contact_on:%d %b %Y}."
                if contact.next_contact_on else "")
        messages.success(request, f"Contact with {patient.full_name} recorded: "
                                  f"{contact.get_kind_display().lower()}, {contact.minutes} min, "
                                  f"{contact.get_outcome_display().lower()}.{when}")
    return _back(request, f"/patients/{patient.pk}/")


@requires("care.step")
@require_POST
def step_new(request, pk: int):
    patient = _patient(request, pk)
    meeting = None
    if request.POST.get("mdt_meeting"):
        meeting = MdtMeeting.objects.filter(pk=request.POST["mdt_meeting"]).first()
    try:
        decision = services.step_decide(patient=patient, step=request.POST.get("step"),
                                        reason=request.POST.get("reason", ""),
                                        actor=request.user, mdt_meeting=meeting)
    except DomainError as exc:
        _error(request, exc)
    else:
        text = {"up": "stepped up to", "down": "stepped down to",
                "stay": "stays on"}[decision.direction]
        messages.success(request, f"{patient.full_name} {text} step {decision.to_step}.")
    return _back(request, f"/patients/{patient.pk}/")


@requires("care.plan")
@require_POST
def goal_new(request, pk: int):
    patient = _patient(request, pk)
    try:
        goal = services.goal_create(patient=patient, text=request.POST.get("text"),
                                    activity=request.POST.get("activity", ""),
                                    target_date=request.POST.get("target_date") or None,
                                    actor=request.user)
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"Goal added: “{goal.text}”.")
    return _back(request, f"/patients/{patient.pk}/#care-plan")


@requires("care.plan")
@require_POST
def goal_status(request, pk: int):
    goal = get_object_or_404(Goal.objects.filter(
        patient__in=Patient.objects.visible_to(request.user)), pk=pk)
    try:
        services.goal_update(goal=goal, status=request.POST.get("status"), actor=request.user)
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"Goal marked {request.POST.get('status')}.")
    return _back(request, f"/patients/{goal.patient_id}/#care-plan")


@requires("questionnaire_link.send")
@require_POST
def psfs_link_new(request, pk: int):
    patient = _patient(request, pk)
    try:
        link, url = services.psfs_link_send(patient=patient, actor=request.user)
    except DomainError as exc:
        _error(request, exc)
    else:
        url = request.build_absolute_uri(urlsplit(url).path)
        how = ("The patient gets no reminders: give them this link yourself"
               if patient.preferred_channel == "none" or not patient.consent_to_contact
               else f"It goes to the patient by {patient.get_preferred_channel_display().lower()}")
        messages.success(request, f"PSFS link created for {patient.full_name}, valid until "
                                  f"{link.expires_at:%d %b %Y}. {how}: {url}")
    return _back(request, f"/patients/{patient.pk}/#care-plan")


# --- Billing -------------------------------------------------------------------------------

def _billing(request) -> dict:
    month = request.GET.get("month") or timezone.localdate().strftime("%Y-%m")
    data = selectors.billing_export(month=month, patients=billing_patients(
        request.user, request.GET.get("site", "")))
    audit_record(request=request, actor=request.user, action="export",
                 object_type="care.billing", object_id=data["month"],
                 detail={"export": "billing", "patient_ids": [r["patient"] for r in data["rows"]]})
    return data


@requires("metrics.billing")
@require_GET
def billing_page(request):
    try:
        data = _billing(request)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("care:billing")
    codes = BillingCode.objects.filter(active=True).order_by("program_id", "family", "month",
                                                             "code")
    return render(request, "care/billing.html", {
        **data, "codes": list(codes), "site": request.GET.get("site", ""),
        "can_configure": can(request.user, "metrics.view")})


@requires("metrics.billing")
@require_GET
def billing_csv(request):
    try:
        data = _billing(request)
    except DomainError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="care-billing-{data["month"]}.csv"'
    writer = csv.writer(response)
    families = data["families"]
    writer.writerow(["month", "patient_mrn", "patient_name", "site", "minutes", "care_month",
                     *families, "codes"])
    for row in data["rows"]:
        met = {f["family"]: " + ".join(c["code"] if c["units"] == 1 else
                                       f"{c['code']} x{c['units']}" for c in f["codes"])
               for f in row["families"]}
        writer.writerow([row["month"], row["mrn"], row["name"], row["site"], row["minutes"],
                         row["care_month"], *(met.get(f, "") for f in families), row["codes"]])
    return response
