"""Outcomes pages: the patient questionnaire link (no login), clinician entry of a
questionnaire, medication (MME) review, trends, safety alerts and the care-manager worklist."""

import logging
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from ipm import parsers
from ipm.api import error_body
from ipm.audit import audit_list, audit_record, client_ip
from ipm.errors import Conflict, Gone, InvalidInput
from ipm.roles import can, requires
from patients.models import Patient
from patients.program import crisis_message_for
from patients.scoping import visible

from . import instruments, item_labels, selectors, services
from .forms import (
    AcknowledgeForm,
    MedicationLineFormSet,
    MedicationReviewForm,
    ResponseMetaForm,
    answers_from_post,
    instrument_fields,
)
from .mme import OPIOIDS
from .models import SafetyAlert

# A flash message carrying a URL to hand over: base.html shows it as a copyable field.
COPY_LINK_TAG = "copy-link"

logger = logging.getLogger(__name__)

# --- Patient questionnaire link (no login) -----------------------------------------------


def _rate(setting: str) -> tuple[int, int]:
    """'60/min' -> (60, 60 seconds)."""
    count, _, period = setting.partition("/")
    seconds = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600,
               "d": 86400, "day": 86400}[period or "min"]
    return int(count), seconds


def _rate_limited(request) -> int | None:
    """Fixed-window counter per client IP in the shared cache; seconds to wait when over."""
    rates = getattr(settings, "REST_FRAMEWORK", {}).get("DEFAULT_THROTTLE_RATES", {})
    limit, period = _rate(rates.get("questionnaire_link", "60/min"))
    now = time.time()
    window = int(now // period)
    key = f"outcomes:qlink-rate:{client_ip(request) or 'unknown'}:{window}"
    try:
        cache.add(key, 0, timeout=period + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # the key expired between add and incr
            cache.set(key, 1, timeout=period + 1)
            count = 1
    except Exception:  # noqa: BLE001 - a cache outage must not lock patients out
        logger.warning("Questionnaire-link rate limit skipped: cache unavailable", exc_info=True)
        return None
    if count > limit:
        return max(1, int((window + 1) * period - now))
    return None


def _wants_json(request) -> bool:
    return (request.content_type == "application/json"
            or "application/json" in request.headers.get("Accept", ""))


def _private(response):
    """The URL is the patient's key: never cache the page, never send it on as a referrer."""
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _plain(request, status: int, title: str, text: str):
    if _wants_json(request):
        return _private(JsonResponse(error_body(text), status=status))
    return _private(render(request, "outcomes/questionnaire_closed.html",
                           {"title": title, "text": text}, status=status))


def _steps(link, values, errors, step):
    codes = link.instruments
    labels = item_labels.labels_for(codes[step], link.patient)
    return {
        "link": link,
        "step": step,
        "step_number": step + 1,
        "steps": len(codes),
        "is_last": step == len(codes) - 1,
        "current": instrument_fields(codes[step], values.get(codes[step]), errors.get(codes[step]),
                                     texts=labels),
        "hidden": [(f"{code}-{key}", value) for code in codes if code != codes[step]
                   for key, value in values.get(code, {}).items()],
        "error_list": [(item["id"], item["number"], message)
                       for item in instrument_fields(codes[step], {}, errors.get(codes[step]),
                                                     texts=labels)["items"]
                       for message in item["errors"]],
    }


@login_not_required
@csrf_exempt  # the unguessable URL is the credential; no cookie-based session is involved
@never_cache
def questionnaire(request, token: str):
    """GET: the questions, one instrument per step. POST: the step's form (Next/Back/Submit)
    or JSON {"answers": {code: {item: value}}}. 201 saved, 400 per-item errors, 404 unknown
    link, 410 used or expired, 429 too many requests from one address."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    wait = _rate_limited(request)
    if wait is not None:
        response = _plain(request, 429, "Please wait a moment",
                          "Too many requests from your connection. Please try again in a minute.")
        response["Retry-After"] = str(wait)
        return response
    link = selectors.link_for_token(token)
    if link is None:
        return _plain(request, 404, "Link not found",
                      "This questionnaire link is not valid. Please check that you copied "
                      "the whole link, or ask your care team for a new one.")
    if not link.is_open():
        return _gone(request, link)
    if request.method == "GET":
        audit_record(action="read", obj=link, detail={"via": "questionnaire_link"})
        if _wants_json(request):
            # Only the questions (docs/product.md §3.4): no name, no programme.
            return _private(JsonResponse({
                "expires_at": link.expires_at,
                "instruments": [instruments.get(c).as_dict() for c in link.instruments]}))
        return _private(render(request, "outcomes/questionnaire.html", _steps(link, {}, {}, 0)))
    if request.content_type == "application/json":
        return _submit_json(request, link)
    return _submit_form(request, link)


def _gone(request, link):
    if link.used_at is not None:
        return _plain(request, 410, "Already answered",
                      "Thank you: this questionnaire has already been answered. The link "
                      "works only once. If you need to change an answer, contact your care team.")
    return _plain(request, 410, "Link expired",
                  "This questionnaire link has expired. Please ask your care team for a new one.")


def _submit_json(request, link):
    try:
        body = parsers.loads(request.body or b"{}")
    except parsers.JSONTooDeep as exc:
        return _private(JsonResponse(error_body(str(exc)), status=400))
    except ValueError:
        return _private(JsonResponse(error_body("The body is not valid JSON."), status=400))
    answers = body.get("answers") if isinstance(body, dict) else None
    try:
        responses = services.questionnaire_link_submit(link=link, answers_by_instrument=answers)
    except Gone:
        link.refresh_from_db()
        return _gone(request, link)
    except InvalidInput as exc:
        return _private(JsonResponse(error_body(exc.message, exc.errors), status=400))
    body = {"status": "submitted", "responses": [r.pk for r in responses]}
    if any(r.alerts for r in responses):
        body["crisis_message"] = crisis_message_for(link.patient.program)
    return _private(JsonResponse(body, status=201))


def _submit_form(request, link):
    codes = link.instruments
    values = answers_from_post(request.POST, codes)
    try:
        step = min(max(int(request.POST.get("step", len(codes) - 1)), 0), len(codes) - 1)
    except ValueError:
        step = len(codes) - 1
    action = request.POST.get("action", "submit")
    if action == "back":
        return _private(render(request, "outcomes/questionnaire.html",
                               _steps(link, values, {}, max(step - 1, 0))))
    if action == "next" and step < len(codes) - 1:
        problem = services.validate_answers(codes[step], values[codes[step]])
        if problem:
            return _private(render(request, "outcomes/questionnaire.html",
                                   _steps(link, values, {codes[step]: problem["answers"]}, step),
                                   status=400))
        return _private(render(request, "outcomes/questionnaire.html",
                               _steps(link, values, {}, step + 1)))
    try:
        responses = services.questionnaire_link_submit(link=link, answers_by_instrument=values)
    except Gone:
        link.refresh_from_db()
        return _gone(request, link)
    except InvalidInput as exc:
        errors = {code: errs for code, errs in exc.errors.items() if isinstance(errs, dict)}
        first = next((i for i, code in enumerate(codes) if code in errors), step)
        return _private(render(request, "outcomes/questionnaire.html",
                               _steps(link, values, errors, first), status=400))
    # Nothing about the alert reaches the patient but the program's crisis message.
    crisis = (crisis_message_for(link.patient.program) if any(r.alerts for r in responses)
              else "")
    return _private(render(request, "outcomes/questionnaire_done.html",
                           {"crisis_message": crisis}, status=201))


# --- Staff pages -------------------------------------------------------------------------

def _patient(pk: int, request):
    patient = get_object_or_404(visible(Patient.objects.select_related("clinician", "program"),
                                        request.user, ""), pk=pk)
    audit_record(request=request, actor=request.user, action="read", obj=patient,
                 detail={"page": request.path})
    return patient


def _next_url(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


@requires("patient.view")
def patient_trends_page(request, pk: int):
    patient = _patient(pk, request)
    trends = selectors.patient_trends(patient)
    selectors.attach_measures_due([patient])
    return render(request, "outcomes/patient_trends_page.html", {
        "patient": patient, "trends": trends,
        "instrument_names": [(c, instruments.get(c).name) for c in instruments.CODES],
    })


@requires("response.record")
def response_new(request, pk: int):
    """A clinician (or coordinator, from paper) enters any instrument for the patient."""
    patient = _patient(pk, request)
    code = request.GET.get("instrument") or request.POST.get("instrument")
    if code not in instruments.CODES:
        return render(request, "outcomes/response_choose.html", {
            "patient": patient,
            "choices": [(c, instruments.get(c).name) for c in instruments.CODES]})
    meta = ResponseMetaForm(request.POST or None)
    values, errors, status = {}, {}, 200
    if request.method == "POST":
        values = answers_from_post(request.POST, [code])[code]
        if meta.is_valid():
            try:
                response = services.response_create(
                    patient=patient, instrument=code, answers=values, actor=request.user,
                    answered_at=meta.answered_at())
            except InvalidInput as exc:
                errors = exc.errors.get("answers", {})
                messages.error(request, exc.message)
            else:
                if response.alerts:
                    # The entry result: the crisis message to give the patient now, and the
                    # alert (docs/product.md §7).
                    return render(request, "outcomes/response_alert.html", {
                        "patient": patient, "instrument_name": instruments.get(code).name,
                        "alerts": response.alerts,
                        "crisis_message": crisis_message_for(patient.program)}, status=201)
                messages.success(request, f"{instruments.get(code).name} saved.")
                if code == services.CSSRS_INSTRUMENT:
                    risk = response.scores.get("risk_level")
                    (messages.error if risk == "high" else messages.info)(
                        request, f"C-SSRS risk level: {risk}."
                        + (" Arrange an emergency review now." if risk == "high" else ""))
                return redirect(_next_url(request, f"/patients/{patient.pk}/trends/"))
        status = 400
    return render(request, "outcomes/response_new.html", {
        "patient": patient, "meta": meta,
        "instrument": instrument_fields(code, values, errors,
                                        texts=item_labels.labels_for(code, patient)),
        "code": code}, status=status)


@requires("medication.review")
def medication_review_new(request, pk: int):
    """Opioid review: each opioid's daily MME (CDC 2022 factors), or a total entered directly."""
    patient = _patient(pk, request)
    form = MedicationReviewForm(request.POST or None)
    lines = MedicationLineFormSet(request.POST or None, prefix="lines")
    status = 200
    if request.method == "POST":
        if form.is_valid() and lines.is_valid():
            items = [line for line in (f.line() for f in lines.forms) if line]
            try:
                review = services.medication_review_create(
                    patient=patient, lines=items, total_mme=form.cleaned_data.get("total_mme"),
                    note=form.cleaned_data.get("note", ""), actor=request.user,
                    reviewed_at=form.reviewed_at())
            except InvalidInput as exc:
                form.add_error(None, exc.message)
                for field, problems in exc.errors.items():
                    if field == "total_mme":
                        form.add_error(None, "; ".join(problems))
            else:
                flags = review.flags
                text = f"Medication review saved: {review.total_mme} MME/day."
                if "mme_90" in flags:
                    messages.warning(request, text + " At or above 90 MME/day.")
                elif "mme_50" in flags:
                    messages.warning(request, text + " At or above 50 MME/day.")
                else:
                    messages.success(request, text)
                return redirect(_next_url(request, f"/patients/{patient.pk}/trends/"))
        status = 400
    return render(request, "outcomes/medication_review_new.html", {
        "patient": patient, "form": form, "lines": lines,
        "factors": [(o.display, o.factor, o.unit) for o in OPIOIDS.values()]}, status=status)


@requires("questionnaire_link.send")
def questionnaire_link_new(request, pk: int):
    """One click from the worklist or the trends page: create and send a link."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    patient = get_object_or_404(visible(Patient.objects.all(), request.user, ""), pk=pk)
    codes = [c for c in request.POST.getlist("instruments") if c]
    back = _next_url(request, f"/patients/{patient.pk}/trends/")
    try:
        link, url = services.questionnaire_link_create(patient=patient, instruments=codes,
                                                       actor=request.user)
        url = request.build_absolute_uri(urlsplit(url).path)
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return redirect(back)
    if patient.preferred_channel == "none" or not patient.consent_to_contact:
        how = "The patient gets no reminders: give them this link yourself"
    else:
        how = f"It goes to the patient by {patient.get_preferred_channel_display().lower()}"
    names = ", ".join(instruments.get(code).short_label for code in link.instruments)
    messages.success(request, f"Questionnaire link created for {patient.full_name} "
                              f"({names}), valid until {link.expires_at:%-d %b %Y}. {how}.")
    # Shown once, as a read-only field with a copy button (templates/base.html, copy.js).
    messages.info(request, url, extra_tags=COPY_LINK_TAG)
    return redirect(back)


@requires("alert.view")
def alert_list(request):
    wanted = request.GET.get("status", SafetyAlert.Status.OPEN)
    if wanted not in (*SafetyAlert.Status.values, "all"):
        wanted = SafetyAlert.Status.OPEN
    qs = selectors.alerts_list(status=None if wanted == "all" else wanted, user=request.user
                               ).select_related("patient__program__clinical_lead",
                                                "patient__program__deputy_lead")
    if wanted == SafetyAlert.Status.OPEN:
        qs = qs.order_by("opened_at", "pk")
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    alerts = list(page.object_list)
    for alert in alerts:
        if alert.status == SafetyAlert.Status.OPEN:
            alert.escalates_at = services.alert_escalation_due_at(alert, alert.patient.program)
    audit_list(objects=alerts, request=request, actor=request.user,
               object_type="outcomes.safetyalert")
    return render(request, "outcomes/alerts.html", {
        "alerts": alerts, "page_obj": page, "is_paginated": page.has_other_pages(),
        "status": wanted, "can_acknowledge": can(request.user, "alert.act"),
        "form": AcknowledgeForm()})


@requires("alert.view")
def alert_detail(request, pk: int):
    alert = get_object_or_404(
        visible(SafetyAlert.objects.select_related(
            "patient__program__clinical_lead", "patient__program__deputy_lead",
            "acknowledged_by", "escalated_to", "assigned_to", "response"), request.user)
        .prefetch_related("escalations__to", "actions__by"),
        pk=pk)
    if alert.status == SafetyAlert.Status.OPEN:
        alert.escalates_at = services.alert_escalation_due_at(alert, alert.patient.program)
    audit_record(request=request, actor=request.user, action="read", obj=alert)
    can_act = can(request.user, "alert.act")
    cssrs = None
    if alert.status == SafetyAlert.Status.OPEN and can(request.user, "response.record"):
        cssrs = instrument_fields(services.CSSRS_INSTRUMENT)
    return render(request, "outcomes/alert_detail.html", {
        "alert": alert, "can_acknowledge": can_act, "form": AcknowledgeForm(),
        "cssrs": cssrs, "cssrs_code": services.CSSRS_INSTRUMENT})


@requires("alert.act")
def alert_acknowledge(request, pk: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    alert = get_object_or_404(visible(SafetyAlert.objects.select_related("patient"), request.user),
                              pk=pk)
    try:
        alert = services.alert_acknowledge(alert=alert, actor=request.user,
                                           note=request.POST.get("note", ""),
                                           action=request.POST.get("action") or None)
    except (InvalidInput, Conflict) as exc:
        messages.error(request, exc.message + "".join(
            f" {'; '.join(problems)}" for problems in exc.errors.values()
            if isinstance(problems, list)))
    else:
        if alert.status == SafetyAlert.Status.OPEN:
            messages.warning(request, f"No answer recorded for {alert.patient.full_name}: the "
                                      f"alert stays open; try again at "
                                      f"{timezone.localtime(alert.retry_at):%H:%M}.")
        else:
            messages.success(request, f"Alert for {alert.patient.full_name} acknowledged.")
    return redirect(_next_url(request, f"/alerts/{alert.pk}/"))


@requires("worklist.view")
def worklist(request):
    mine = request.GET.get("mine") == "1"
    data = selectors.worklist(page=request.GET.get("page") or 1,
                              clinician=request.user if mine else None, user=request.user)
    audit_list(objects=data["shown_patients"], request=request, actor=request.user,
               object_type="patients.patient")
    return render(request, "outcomes/worklist.html", {
        **data, "mine": mine, "page_obj": data["due_page"],
        "is_paginated": data["due_page"].has_other_pages(),
        "can_acknowledge": can(request.user, "alert.act"), "form": AcknowledgeForm()})
