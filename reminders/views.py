"""Pages: the coordinator's outbox (/reminders/), resend, and the patient's one-click stop
link (/reminders/stop/<token>/, no login)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django.views.generic import ListView

from ipm import roles
from ipm.audit import AuditedReadMixin
from ipm.errors import DomainError
from patients.models import Patient

from . import selectors, services
from .models import Reminder
from .tokens import patient_id_from_stop_token


class OutboxView(roles.RoleRequiredMixin, AuditedReadMixin, ListView):
    """The outbox, filtered by status, kind, reason and patient (id or MRN); failed rows
    show their error and can be resent."""

    permission = "reminder.view"
    template_name = "reminders/outbox.html"
    paginate_by = 50
    audit_object_type = "reminders.reminder"
    filters = ("status", "kind", "reason", "patient")

    def filter_values(self) -> dict:
        values = {f: self.request.GET.get(f, "").strip() for f in self.filters}
        for name, choices in (("status", Reminder.Status), ("kind", Reminder.Kind),
                              ("reason", Reminder.Reason)):
            if values[name] not in choices.values:
                values[name] = ""
        return values

    def get_queryset(self):
        return selectors.reminder_list(**self.filter_values())

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        counts = selectors.reminder_counts_by_status(**self.filter_values())
        ctx.update(filters=self.filter_values(), statuses=Reminder.Status.choices,
                   kinds=Reminder.Kind.choices, reasons=Reminder.Reason.choices,
                   status_tabs=[(v, label, counts[v]) for v, label in Reminder.Status.choices],
                   next_url=self.request.get_full_path())
        return ctx


@roles.requires("reminder.resend")
@require_POST
def resend(request, pk: int):
    row = get_object_or_404(Reminder, pk=pk)
    try:
        services.reminder_resend(reminder=row, actor=request.user)
        messages.success(request, f"Reminder #{row.pk} is pending again and will be sent "
                                  "on the next dispatch pass.")
    except DomainError as exc:
        messages.error(request, exc.message)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "reminders:outbox"
    return redirect(target)


def _private(response):
    # The token is in the URL: keep it out of other sites' referrers, caches and search
    # engines. ("no-referrer" would make browsers send `Origin: null` on the form POST,
    # which Django's CSRF check rightly refuses.)
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def stop(request, token: str):
    """GET shows one "Stop reminders" button (so link prefetchers and scanners that follow
    links change nothing); POST revokes consent to contact."""
    patient_id = patient_id_from_stop_token(token)
    patient = (Patient.objects.filter(pk=patient_id).only("id", "consent_to_contact",
                                                          "consent_revoked_at").first()
               if patient_id is not None else None)
    if patient is None:
        return _private(render(request, "reminders/stop_invalid.html", status=404))
    if request.method == "POST":
        services.patient_reminders_stop(patient_id=patient.pk, source="stop_link")
        return _private(render(request, "reminders/stop_done.html"))
    return _private(render(request, "reminders/stop_confirm.html",
                           {"already_stopped": patient.stopped_reminders}))
