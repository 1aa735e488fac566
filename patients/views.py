"""Patient pages owned by patients: list and search, the pathway decision. The patient
chart and the guided intake compose several apps: clinic/views.py."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.generic import ListView

from ipm import roles
from ipm.audit import AuditedReadMixin
from ipm.errors import DomainError
from ipm.pagination import CappedPaginator

from . import forms, selectors, services
from .models import Patient
from .scoping import visible


class PatientListView(roles.RoleRequiredMixin, AuditedReadMixin, ListView):
    permission = "patient.view"
    template_name = "patients/patient_list.html"
    paginate_by = 25
    paginator_class = CappedPaginator  # "1000+": counting every patient costs more than a page
    audit_object_type = "patients.patient"

    def get_paginate_by(self, queryset):
        size = self.request.GET.get("page_size", "")
        return min(int(size), 200) if size.isdigit() and int(size) > 0 else self.paginate_by

    def get_queryset(self):
        self.form = forms.PatientSearchForm(self.request.GET or None)
        data = self.form.cleaned_data if self.form.is_valid() else {}
        return selectors.patient_list(user=self.request.user,
                                      mine=self.request.GET.get("mine") == "1",
                                      **{k: data.get(k, "") for k in
                                         ("q", "risk_group", "pathway", "flag")})

    def get_context_data(self, **kwargs):
        return super().get_context_data(form=self.form, **kwargs)


@require_POST
@roles.requires("patient.care_team")
def care_team(request, pk):
    """Change the patient's site, responsible clinician or care manager (audited)."""
    patient = get_object_or_404(visible(Patient.objects.select_related("program"), request.user, ""),
                                pk=pk)
    form = forms.CareTeamForm(request.POST, patient=patient)
    if not form.is_valid():
        messages.error(request, "Check the care team: " + "; ".join(
            f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    else:
        try:
            services.patient_update(patient=patient, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Care team saved.")
    return redirect("patients:detail", pk)


def _back(request, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


@require_POST
@roles.requires("patient.pathway")
def decide_pathway(request, pk):
    patient = get_object_or_404(visible(Patient.objects.all(), request.user, ""), pk=pk)
    form = forms.PathwayForm(request.POST)
    back = _back(request, reverse("patients:detail", args=[pk]))
    if not form.is_valid():
        messages.error(request, "Choose a pathway.")
        forms.pathway_form_keep(request.session, patient.pk, request.POST, form.errors,
                                "Choose a pathway.")
        return redirect(back)
    try:
        decision = services.pathway_decide(patient=patient, actor=request.user,
                                           pathway=form.cleaned_data["pathway"],
                                           reason=form.cleaned_data["reason"])
    except DomainError as exc:
        messages.error(request, exc.message)
        # Keep the chosen pathway and reason on the page: never reset to the suggestion,
        # where the next save would "confirm" it with the override's reason.
        forms.pathway_form_keep(request.session, patient.pk, request.POST, exc.errors or {},
                                exc.message)
        return redirect(back)
    verb = "overridden" if decision.overridden else "confirmed"
    messages.success(request, f"Pathway {verb}: {decision.get_pathway_display()}.")
    return redirect(back)
