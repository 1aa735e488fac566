"""Configuration screens. Admins edit the service catalogue (SLA targets); referrals are never
edited directly here: the admin shows them read-only and its actions call the same service as
the pages and the API."""

from django.contrib import admin, messages

from ipm.errors import DomainError

from . import transitions as t
from .models import MdtAgendaItem, MdtAttendee, MdtMeeting, Referral, ReferralEvent, Service
from .services import referral_transition


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "discipline", "sla_triage_days", "sla_first_visit_days",
                    "is_group_based", "active")
    list_editable = ("sla_triage_days", "sla_first_visit_days", "is_group_based", "active")
    list_filter = ("discipline", "is_group_based", "active")
    search_fields = ("code", "name", "discipline")

    def get_readonly_fields(self, request, obj=None):
        # The code is referenced by the API and other apps: fixed once created.
        return ("code",) if obj else ()

    def has_delete_permission(self, request, obj=None):
        return False  # referrals point at services; deactivate instead


class ReferralEventInline(admin.TabularInline):
    model = ReferralEvent
    extra = 0
    can_delete = False
    fields = ("at", "actor", "from_status", "to_status", "reason", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def _transition_action(to: str):
    def action(modeladmin, request, queryset):
        done = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                referral_transition(referral=pk, to=to, actor=request.user,
                                    note="Changed in the admin.")
                done += 1
            except DomainError as exc:
                modeladmin.message_user(request, f"Referral {pk}: {exc.message}", messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{done} referral(s) moved to {to}.",
                                    messages.SUCCESS)

    action.__name__ = f"transition_to_{to}"
    action.short_description = f"{t.ACTION_LABELS[to]} selected referrals"
    return action


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    """Patient data: only users with referral permissions reach it (not the admin role).
    Read-only: every change of a referral (state, priority, assignee, service) is audited by
    referrals.services, so the admin shows referrals and offers the state-machine actions,
    and edits nothing behind the services' back."""

    list_display = ("pk", "patient", "service", "priority", "status", "assignee", "referred_at")
    list_filter = ("status", "priority", "service")
    list_select_related = ("patient", "service", "assignee")
    inlines = [ReferralEventInline]
    actions = [_transition_action(to) for to in (t.TRIAGED, t.SCHEDULED, t.IN_TREATMENT,
                                                  t.DISCHARGED)]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.concrete_fields]

    def has_add_permission(self, request):
        return False  # referrals are made through the pages and the API (referral_create)

    def has_delete_permission(self, request, obj=None):
        return False


class MdtAttendeeInline(admin.TabularInline):
    model = MdtAttendee
    extra = 0
    raw_id_fields = ("user",)


class MdtAgendaItemInline(admin.TabularInline):
    model = MdtAgendaItem
    extra = 0
    can_delete = False
    fields = ("position", "referral", "criteria", "decision", "decision_note", "decided_by",
              "decided_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(MdtMeeting)
class MdtMeetingAdmin(admin.ModelAdmin):
    list_display = ("scheduled_for", "mode", "location", "duration_minutes")
    date_hierarchy = "scheduled_for"
    inlines = [MdtAttendeeInline, MdtAgendaItemInline]
    exclude = ("created_by",)
