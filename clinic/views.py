"""Pages that compose several apps: the home page, the patient chart (patients, outcomes,
referrals, visits), and the guided intake with its result (patients, outcomes, referrals)."""

from datetime import date

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.generic import DetailView

from ipm import roles
from ipm.audit import AuditedReadMixin, audit_record
from ipm.errors import DomainError
from outcomes import instruments
from outcomes.forms import answers_from_post, instrument_fields
from outcomes.selectors import patient_trends
from patients import selectors as patient_selectors
from patients import services as patient_services
from patients.forms import CareTeamForm, DemographicsForm, RedFlagsForm, pathway_form_for
from patients.models import Intake, Patient, Program
from patients.program import crisis_message_for
from patients.scoping import visible
from referrals.models import Referral, Service

from . import selectors, services
from .forms import MmeForm


@never_cache
def home(request):
    """One home page per role: each role sees the widgets of its daily work."""
    return render(request, "ipm/home.html", selectors.home_context(request.user))


class PatientDetailView(roles.RoleRequiredMixin, AuditedReadMixin, DetailView):
    permission = "patient.view"
    template_name = "patients/patient_detail.html"
    context_object_name = "patient"
    audit_object_type = "patients.patient"

    def get_object(self, queryset=None):
        self.kwargs.setdefault("pk", self.kwargs.get("pk"))
        return super().get_object(queryset)

    def get_queryset(self):
        return patient_selectors.patient_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.update(selectors.patient_page(self.object))
        if roles.can(self.request.user, "patient.care_team"):
            ctx["care_team_form"] = CareTeamForm(patient=self.object)
        ctx["trends"] = patient_trends(self.object)
        ctx["pathway_form"] = pathway_form_for(self.request.session, self.object.pk,
                                               self.object.pathway)
        return ctx


# --- The guided intake ---------------------------------------------------------------------

# One step per intake questionnaire (the instruments' specs say which: the screen, then the
# baseline measures, which may be skipped), each rendered by the one questionnaire partial.
INSTRUMENT_STEPS = (services.SCREEN_INSTRUMENT, *services.BASELINE_INSTRUMENTS)
STEPS = [
    ("demographics", "Patient details"),
    ("red_flags", "Red flags"),
    *((code, instruments.get(code).short_label) for code in INSTRUMENT_STEPS),
    ("mme", "Opioid dose"),
    ("review", "Review and save"),
]
STEP_NAMES = [s for s, _ in STEPS]
SKIPPABLE = set(services.BASELINE_INSTRUMENTS)
SESSION_KEY = "intake_wizard"


def _state(request, patient_id):
    state = request.session.get(SESSION_KEY)
    if not state or state.get("patient_id") != patient_id:
        state = {"patient_id": patient_id, "data": {}}
    return state


def _save_state(request, state):
    request.session[SESSION_KEY] = state
    request.session.modified = True


def _form_for(step, data=None, initial=None, program=None):
    if step == "demographics":
        return DemographicsForm(data, initial=initial, program=program)
    if step == "red_flags":
        return RedFlagsForm(data, initial=initial)
    if step == "mme":
        return MmeForm(data, initial=initial)
    return None


def _serialisable(cleaned: dict) -> dict:
    out = {}
    for k, v in cleaned.items():
        out[k] = v.isoformat() if isinstance(v, date) else (str(v) if v is not None and
                                                            not isinstance(v, (int, bool, str)) else v)
    return out


def _first_step(patient) -> str:
    return "red_flags" if patient else "demographics"


@roles.requires("patient.intake")
def intake_wizard(request, pk=None):
    """One step per screen; answers are kept in the session until the final save, which
    writes the patient (if new) and the whole intake in one transaction."""
    patient = (get_object_or_404(visible(Patient.objects.all(), request.user, ""), pk=pk)
               if pk else None)
    if patient:
        audit_record(action="read", obj=patient, detail={"page": "intake"})
    program = patient.program if patient else Program.default()
    state = _state(request, patient.pk if patient else None)
    if request.method == "GET" and "restart" in request.GET:
        state = {"patient_id": state["patient_id"], "data": {}}
    step = request.POST.get("step") or request.GET.get("step") or _first_step(patient)
    if step not in STEP_NAMES or (patient and step == "demographics"):
        step = _first_step(patient)
    form = None
    errors = None
    answer_errors = {}
    if request.method == "POST":
        action = request.POST.get("action", "next")
        idx = STEP_NAMES.index(step)
        if action == "back":
            step = STEP_NAMES[max(idx - 1, STEP_NAMES.index(_first_step(patient)))]
        elif action == "skip" and step in SKIPPABLE:
            state["data"][step] = None
            step = STEP_NAMES[idx + 1]
        elif step == "review":
            result = _finish(request, state, patient, program)
            if isinstance(result, Intake):
                request.session.pop(SESSION_KEY, None)
                url = reverse("patients:intake-result", args=[result.patient_id, result.pk])
                if request.headers.get("HX-Request"):
                    resp = HttpResponse(status=204)
                    resp["HX-Redirect"] = url
                    return resp
                return redirect(url)
            step, errors = result
        elif step in INSTRUMENT_STEPS:
            # The engine's validator, as at the final save, the patient link and the API.
            values = answers_from_post(request.POST, [step], prefix="")[step]
            cleaned, answer_errors = instruments.get(step).check(values)
            if answer_errors:
                state["data"].pop(step, None)
                answers_shown = values
            else:
                state["data"][step] = cleaned
                step = STEP_NAMES[idx + 1]
        else:
            form = _form_for(step, request.POST, program=program)
            if form.is_valid():
                state["data"][step] = _serialisable(form.cleaned_data)
                step = STEP_NAMES[idx + 1]
                form = None
        _save_state(request, state)
    questionnaire = None
    if step in INSTRUMENT_STEPS:
        if not answer_errors:
            answers_shown = state["data"].get(step) or {}
            if errors and step in errors:  # found at the final save
                answer_errors = errors[step] if isinstance(errors[step], dict) else {}
        questionnaire = instrument_fields(step, answers_shown, answer_errors, prefix="")
    elif form is None and step != "review":
        initial = state["data"].get(step) or None
        form = _form_for(step, initial=initial, program=program)
        if errors and step in errors:
            form = _form_for(step, data=_as_post(step, state["data"].get(step)), program=program)
            _apply_errors(form, errors[step])
    ctx = {
        "patient": patient, "steps": STEPS, "step": step,
        "step_title": dict(STEPS)[step], "form": form, "skippable": step in SKIPPABLE,
        "instrument": questionnaire,
        "done": state["data"], "review": _review(state, patient) if step == "review" else None,
        "errors": errors, "first_step": _first_step(patient),
    }
    return render(request, "patients/intake_wizard.html", ctx)


def _as_post(step, data):
    if not data:
        return {}
    if step == "red_flags":
        return {k: ("yes" if v == "yes" or v is True else "no") for k, v in data.items()}
    return {k: "" if v is None else str(v) for k, v in data.items()}


def _apply_errors(form, errors):
    if isinstance(errors, dict):
        for key, msgs in errors.items():
            form.add_error(key if key in form.fields else None, msgs if isinstance(msgs, list) else str(msgs))
    else:
        form.add_error(None, errors)


def _review(state, patient):
    data = state["data"]
    rows = []
    for step, title in STEPS[:-1]:
        if patient and step == "demographics":
            continue
        value = data.get(step, "missing")
        rows.append({"step": step, "title": title,
                     "status": "skipped" if value is None else ("missing" if value == "missing" else "done")})
    return rows


def _finish(request, state, patient, program):
    """Save everything in one transaction. Returns the Intake, or (step, errors) to show."""
    data = state["data"]
    missing = [s for s in STEP_NAMES[:-1] if s not in data and not (patient and s == "demographics")
               and s not in SKIPPABLE]
    if missing:
        return missing[0], {missing[0]: {"__all__": ["Please complete this step."]}}
    red_flags = {k: v == "yes" for k, v in data["red_flags"].items()}
    baseline = {code: data.get(code) for code in services.BASELINE_INSTRUMENTS if data.get(code)}
    mme = (data.get("mme") or {}).get("mme")
    try:
        with transaction.atomic():
            if patient is None:
                demo = dict(data["demographics"])
                demo["birth_date"] = date.fromisoformat(demo["birth_date"])
                patient = patient_services.patient_create(actor=request.user, program=program, **demo)
            return services.intake_record(patient=patient, red_flags=red_flags,
                                          startback=data[services.SCREEN_INSTRUMENT],
                                          baseline=baseline,
                                          mme=mme, actor=request.user)
    except DomainError as exc:
        errors = exc.errors or {}
        for step in STEP_NAMES:
            if step in errors:
                return step, errors
        if "mrn" in errors or any(k in errors for k in patient_services.PATIENT_FIELDS):
            return "demographics", {"demographics": errors}
        if "mme" in errors:
            return "mme", {"mme": {"mme": errors["mme"]}}
        return "review", {"review": exc.message}


class IntakeResultView(roles.RoleRequiredMixin, DetailView):
    permission = "patient.view"
    template_name = "patients/intake_result.html"
    context_object_name = "intake"

    def get_queryset(self):
        return visible(Intake.objects.select_related("patient__program"), self.request.user).filter(
            patient_id=self.kwargs["patient_pk"])

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        intake = self.object
        audit_record(action="read", obj=intake)
        ctx["result"] = services.intake_result(intake)
        ctx["patient"] = intake.patient
        if ctx["result"]["alerts"]:
            ctx["crisis_message"] = crisis_message_for(intake.patient.program)
        created = dict(Referral.objects.filter(patient_id=intake.patient_id,
                                               referred_at__gte=intake.created_at)
                       .values_list("service__code", "pk"))
        names = dict(Service.objects.values_list("code", "name"))
        ctx["suggestions"] = [dict(r, referral_id=created.get(r["service"]),
                                   service_name=names.get(r["service"], r["service"]))
                              for r in intake.suggested_referrals]
        ctx["score_lines"] = [(instruments.get(code).short_label,
                               selectors.score_summary(code, s))
                              for code, s in ctx["result"]["scores"].items()]
        ctx["pathway_form"] = pathway_form_for(self.request.session, intake.patient_id,
                                               intake.suggested_pathway)
        return ctx


@require_POST
@roles.requires("referral.create")
def create_suggested_referral(request, patient_pk, pk):
    intake = get_object_or_404(visible(Intake.objects.all(), request.user), pk=pk,
                               patient_id=patient_pk)
    code = request.POST.get("service", "")
    try:
        referral = services.suggested_referral_create(intake=intake, service_code=code,
                                                      actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("patients:intake-result", patient_pk, pk)
    if request.headers.get("HX-Request"):
        return render(request, "patients/_referral_created.html",
                      {"referral": referral, "service": code})
    messages.success(request, f"Referral to {referral.service.name} created.")
    return redirect("patients:intake-result", patient_pk, pk)
