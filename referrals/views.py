"""Pages: the coordinator's triage queue (with htmx inline actions and bulk triage), the
referral page, referring a patient, and the MDT meetings. Views parse, call one service or
selector, and render; refusals show the service's message."""

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.generic import DetailView, FormView, ListView, TemplateView

from ipm import roles
from ipm.audit import AuditedReadMixin, audit_list
from ipm.errors import DomainError
from ipm.pagination import CappedPaginator
from patients.scoping import visible

from . import selectors, services
from . import transitions as t
from .forms import (
    MdtAttendeeForm,
    MdtDecisionForm,
    MdtMeetingForm,
    QueueFilterForm,
    ReferralCreateForm,
    user_label,
)
from .models import MdtAgendaItem, MdtAttendee, MdtMeeting, Referral, Service

MAX_PAGE_SIZE = 200


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _back(request, default: str) -> HttpResponseRedirect:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return HttpResponseRedirect(nxt)
    return HttpResponseRedirect(default)


def _row_context(request, referral: Referral, **extra) -> dict:
    # A row carries no assignee list: the page's one assign dialog holds it.
    return {
        "r": referral,
        "next": request.POST.get("next") or reverse("referrals:queue"),
        **extra,
    }


# --- The queue ---------------------------------------------------------------------------

class ReferralQueueView(roles.RoleRequiredMixin, AuditedReadMixin, ListView):
    """Urgent first, then longest waiting; days waiting and the SLA flag come from the
    database (selectors.referrals_with_sla). A constant number of queries per page."""

    permission = "referral.view"
    template_name = "referrals/queue.html"
    context_object_name = "referrals"
    paginate_by = 25
    # "1000+": an exact COUNT would read the whole waiting queue on every page.
    paginator_class = CappedPaginator
    audit_object_type = "referrals.referral"

    def get_paginate_by(self, queryset):
        try:
            size = int(self.request.GET.get("page_size", self.paginate_by))
        except ValueError:
            return self.paginate_by
        return max(1, min(size, MAX_PAGE_SIZE))

    def get_queryset(self):
        self.services = list(selectors.services_active())
        self.assignees = list(selectors.staff_for_assignment())
        self.filter_form = QueueFilterForm(self.request.GET or None, services=self.services,
                                           assignees=self.assignees)
        return selectors.referral_queue(user=self.request.user, **self.filter_form.filters())

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        ctx.update(filter_form=self.filter_form, assignees=self.assignees,
                   next=self.request.get_full_path(), querystring=query.urlencode())
        return ctx


@roles.requires("referral.triage")
@require_POST
def referral_transition_view(request, pk: int):
    _visible_or_404(request, pk)
    to = request.POST.get("to", "")
    error = done = ""
    try:
        services.referral_transition(
            referral=pk, to=to, actor=request.user, note=request.POST.get("note", ""),
            reason=request.POST.get("reason", ""),
            # The queue's shared row form names the row's state in its URL (?from=).
            expected=request.POST.get("from") or request.GET.get("from") or None)
        done = f"Referral {pk}: {t.ACTION_LABELS.get(to, to).lower()} done."
    except DomainError as exc:
        if exc.status_code == 404:
            raise Http404(exc.message)
        error = exc.message
    return _after_row_action(request, pk, done=done, error=error)


@roles.requires("referral.triage")
@require_POST
def referral_assign_view(request, pk: int):
    _visible_or_404(request, pk)
    raw = request.POST.get("assignee", "")
    assignee = request.user if raw == "me" else (raw or None)
    error = done = ""
    try:
        referral = services.referral_assign(referral=pk, assignee=assignee, actor=request.user)
        who = user_label(referral.assignee) if referral.assignee else "nobody"
        done = f"Referral {pk} assigned to {who}."
    except DomainError as exc:
        if exc.status_code == 404:
            raise Http404(exc.message)
        error = exc.message
    return _after_row_action(request, pk, done=done, error=error)


def _visible_or_404(request, pk: int) -> None:
    """Act only on referrals of the user's sites' patients."""
    if not visible(Referral.objects.filter(pk=pk), request.user).exists():
        raise Http404("No such referral.")


def _after_row_action(request, pk: int, *, done: str, error: str):
    if _is_htmx(request) and request.POST.get("row") == "queue":
        referral = selectors.referral_get(pk, user=request.user)
        return render(request, "referrals/_queue_row.html",
                      _row_context(request, referral, row_done=done, row_error=error))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return _back(request, reverse("referrals:detail", args=[pk]))


@roles.requires("referral.triage")
@require_POST
def referral_bulk_view(request):
    """Bulk actions on the rows ticked in the queue: triage, or assign to me."""
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    ids = list(visible(Referral.objects.filter(pk__in=ids), request.user)
               .order_by("pk").values_list("pk", flat=True))
    action = request.POST.get("action")
    if not ids:
        messages.warning(request, "Tick the referrals first.")
    elif action == "triage":
        done, refused = services.referrals_triage_many(referral_ids=ids, actor=request.user,
                                                       note=request.POST.get("note", ""))
        if done:
            messages.success(request, f"Triaged {len(done)} referral{'s' if len(done) != 1 else ''}.")
        for pk, message in refused.items():
            messages.error(request, f"Referral {pk} not triaged: {message}")
    elif action == "assign_me":
        count = 0
        for pk in ids:
            try:
                services.referral_assign(referral=pk, assignee=request.user, actor=request.user)
                count += 1
            except DomainError as exc:
                messages.error(request, f"Referral {pk} not assigned: {exc.message}")
        if count:
            messages.success(request, f"Assigned {count} referral{'s' if count != 1 else ''} to you.")
    else:
        messages.error(request, "Unknown bulk action.")
    return _back(request, reverse("referrals:queue"))


# --- One referral --------------------------------------------------------------------------

class ReferralDetailView(roles.RoleRequiredMixin, AuditedReadMixin, DetailView):
    """The referral with its history and the patient's context (an audited read)."""

    permission = "referral.view"
    template_name = "referrals/detail.html"
    context_object_name = "r"
    audit_object_type = "referrals.referral"

    def get_queryset(self):
        return selectors.referrals_with_sla(
            visible(Referral.objects.select_related("patient", "service", "assignee", "referred_by"),
                    self.request.user))

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        referral = self.object
        ctx.update(
            events=list(selectors.referral_events(referral)),
            others=list(selectors.patient_other_referrals(referral)),
            mdt_items=list(selectors.mdt_items_for_referral(referral)),
            meetings=list(selectors.mdt_meetings_upcoming()),
            assignees=list(selectors.staff_for_assignment()),
            next=self.request.get_full_path(),
            can_go_to_mdt=referral.status in (t.NEW, t.TRIAGED),
        )
        ctx["on_pending_agenda"] = any(not i.is_decided for i in ctx["mdt_items"])
        return ctx


@roles.requires("referral.triage")
@require_POST
def referral_request_mdt_view(request, pk: int):
    requested = request.POST.get("requested", "1") == "1"
    _visible_or_404(request, pk)
    services.referral_request_mdt(referral=pk, actor=request.user, requested=requested)
    messages.success(request, "MDT review requested." if requested else "MDT request withdrawn.")
    return _back(request, reverse("referrals:detail", args=[pk]))


class ReferralCreateView(roles.RoleRequiredMixin, FormView):
    """Refer a patient to a service (linked from the patient page as ?patient=<id>)."""

    permission = "referral.create"
    template_name = "referrals/create.html"
    form_class = ReferralCreateForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        initial = super().get_initial()
        for key in ("patient", "service", "priority"):
            if self.request.GET.get(key):
                initial[key] = self.request.GET[key]
        return initial

    def form_valid(self, form):
        d = form.cleaned_data
        try:
            referral = services.referral_create(
                patient=d["patient"], service=d["service"], reason=d["reason"],
                priority=d["priority"], needs_mdt=d["needs_mdt"], actor=self.request.user)
        except DomainError as exc:
            for field, errs in exc.errors.items():
                form.add_error(field if field in form.fields else None, errs)
            return self.form_invalid(form)
        messages.success(self.request, f"Referred to {referral.service.name}.")
        return redirect("referrals:detail", pk=referral.pk)


# --- MDT -----------------------------------------------------------------------------------

class MdtIndexView(roles.RoleRequiredMixin, TemplateView):
    """Upcoming meetings, a form for a new one, and the complex referrals to put on an
    agenda (red flags, high risk, several disciplines, or MDT requested)."""

    permission = "mdt.view"
    template_name = "referrals/mdt_index.html"
    candidates_per_page = 25

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        # Page without a COUNT: counting complex referrals means evaluating the criteria
        # for every new referral, while showing a page needs only the first few.
        try:
            number = max(1, int(self.request.GET.get("page", 1)))
        except ValueError:
            number = 1
        size = self.candidates_per_page
        rows = list(selectors.mdt_candidates(user=self.request.user)[(number - 1) * size:number * size + 1])
        candidates = rows[:size]
        audit_list(objects=candidates, request=self.request, actor=self.request.user,
                   object_type="referrals.referral")
        ctx.update(
            candidates=candidates, page_number=number, has_next=len(rows) > size,
            meetings=list(selectors.mdt_meetings_upcoming()),
            past_meetings=selectors.mdt_meetings_past(),
            meeting_form=kwargs.get("meeting_form") or MdtMeetingForm(),
            criterion_labels=dict(MdtAgendaItem.Criterion.choices),
            can_plan=roles.can(self.request.user, "mdt.plan"),
        )
        return ctx


@roles.requires("mdt.plan")
@require_POST
def mdt_meeting_create_view(request):
    form = MdtMeetingForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            meeting = services.mdt_meeting_create(
                scheduled_for=form.scheduled_for(), mode=d["mode"], location=d["location"],
                video_link=d["video_link"], duration_minutes=d["duration_minutes"],
                notes=d["notes"], actor=request.user)
            messages.success(request, "MDT meeting planned. Add attendees and referrals.")
            return redirect("referrals:mdt-meeting", pk=meeting.pk)
        except DomainError as exc:
            for field, errs in exc.errors.items():
                form.add_error(field if field in form.fields else None, errs)
    view = MdtIndexView()
    view.setup(request)
    return render(request, view.template_name,
                  view.get_context_data(meeting_form=form), status=400)


@roles.requires("mdt.plan")
@require_POST
def mdt_agenda_add_view(request):
    meeting = get_object_or_404(MdtMeeting, pk=request.POST.get("meeting") or 0)
    referral_id = request.POST.get("referral", "")
    if referral_id.isdigit():
        _visible_or_404(request, int(referral_id))
    try:
        services.mdt_agenda_add(meeting=meeting, referral=int(referral_id or 0),
                                actor=request.user, note=request.POST.get("note", ""))
        messages.success(request, f"Referral {referral_id} added to the agenda of {meeting}.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back(request, reverse("referrals:mdt-meeting", args=[meeting.pk]))


@roles.requires("mdt.plan")
@require_POST
def mdt_agenda_remove_view(request, pk: int):
    item = get_object_or_404(visible(MdtAgendaItem.objects.all(), request.user, "referral__patient"),
                             pk=pk)
    try:
        services.mdt_agenda_remove(item=item, actor=request.user)
        messages.success(request, f"Referral {item.referral_id} taken off the agenda.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("referrals:mdt-meeting", pk=item.meeting_id)


class MdtMeetingView(roles.RoleRequiredMixin, DetailView):
    """The meeting: attendees by discipline, the agenda, and a decision form per referral.
    Prints as a one-page agenda."""

    permission = "mdt.view"
    template_name = "referrals/mdt_meeting.html"
    context_object_name = "meeting"

    def get_object(self, queryset=None):
        try:
            return selectors.mdt_meeting_get(self.kwargs["pk"], user=self.request.user)
        except MdtMeeting.DoesNotExist:
            raise Http404("No such meeting.")

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        meeting = self.object
        items = list(meeting.items.all())
        audit_list(objects=[i.referral for i in items], request=self.request,
                   actor=self.request.user, object_type="referrals.referral")
        service_list = list(selectors.services_active())
        clinician_list = list(selectors.clinicians())
        bound = kwargs.get("bound_form")
        for item in items:
            if item.is_decided:
                continue
            if bound is not None and bound[0] == item.pk:
                item.form = bound[1]
            else:
                item.form = MdtDecisionForm(prefix=f"item{item.pk}", services=service_list,
                                            clinicians=clinician_list)
        staff = list(selectors.staff_for_assignment())
        ctx.update(
            items=items,
            attendee_form=kwargs.get("attendee_form") or MdtAttendeeForm(staff=staff),
            disciplines=sorted({s.discipline for s in service_list} | {"General practice",
                                                                        "Nursing"}),
            candidates=list(selectors.mdt_candidates(user=self.request.user)[:50]),
            can_plan=roles.can(self.request.user, "mdt.plan"),
        )
        return ctx


@roles.requires("mdt.plan")
@require_POST
def mdt_attendee_add_view(request, pk: int):
    meeting = get_object_or_404(MdtMeeting, pk=pk)
    staff = list(selectors.staff_for_assignment())
    form = MdtAttendeeForm(request.POST, staff=staff)
    if form.is_valid():
        d = form.cleaned_data
        user = next((u for u in staff if str(u.pk) == d["user"]), None)
        try:
            services.mdt_attendee_add(meeting=meeting, discipline=d["discipline"], user=user,
                                      name=d["name"], actor=request.user)
            messages.success(request, "Attendee added.")
        except DomainError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, "Give the attendee's discipline and name.")
    return redirect("referrals:mdt-meeting", pk=pk)


@roles.requires("mdt.plan")
@require_POST
def mdt_attendee_remove_view(request, pk: int):
    attendee = get_object_or_404(MdtAttendee, pk=pk)
    services.mdt_attendee_remove(attendee=attendee, actor=request.user)
    return redirect("referrals:mdt-meeting", pk=attendee.meeting_id)


@roles.requires("mdt.decide")
@require_POST
def mdt_decision_view(request, pk: int):
    """Record the team's decision on one agenda item (clinicians and coordinators)."""
    item = get_object_or_404(visible(MdtAgendaItem.objects.all(), request.user, "referral__patient"),
                             pk=pk)
    service_list = list(Service.objects.all())
    clinician_list = list(selectors.clinicians())
    form = MdtDecisionForm(request.POST, prefix=f"item{pk}", services=service_list,
                           clinicians=clinician_list)
    if form.is_valid():
        d = form.cleaned_data
        chosen_services = [s for s in service_list if s.code in d["services"]]
        chosen_clinicians = [u for u in clinician_list if str(u.pk) in d["clinicians"]]
        try:
            services.mdt_decision_record(
                item=item, decision=d["decision"], actor=request.user,
                services=chosen_services, clinicians=chosen_clinicians,
                advice=d["advice"], note=d["note"])
            messages.success(request, f"Decision recorded for referral {item.referral_id}.")
            return redirect(reverse("referrals:mdt-meeting", args=[item.meeting_id])
                            + f"#item-{item.pk}")
        except DomainError as exc:
            for field, errs in exc.errors.items():
                form.add_error(field if field in form.fields else None, errs)
            if not exc.errors:
                form.add_error(None, exc.message)
    view = MdtMeetingView()
    view.setup(request, pk=item.meeting_id)
    view.object = view.get_object()
    return render(request, view.template_name,
                  view.get_context_data(object=view.object, bound_form=(item.pk, form)),
                  status=400)
