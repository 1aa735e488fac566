"""Query parameters of the referral queue API (ipm.filters explains the strictness)."""

import re

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from ipm.filters import BooleanFilter, FilterSet, IdFilter

from . import selectors
from . import transitions as t
from .models import Referral

STATUS_WORDS = (selectors.OPEN, selectors.WAITING, *t.STATES)
_STATUS_WORD = "|".join(STATUS_WORDS)
STATUS_PATTERN = rf"^({_STATUS_WORD})(,({_STATUS_WORD}))*$"
ASSIGNEE_PATTERN = r"^([1-9][0-9]*|me|none)$"
SLA_BREACHED_HELP = (
    "True when the referral is still `new` and `days_waiting` > the service's "
    "`sla_triage_days`, or is `triaged`/`scheduled` (no first visit yet) and `days_waiting` "
    "> the service's `sla_first_visit_days`. Never true in treatment or once closed.")


def _status_list(value: str) -> None:
    if not re.fullmatch(STATUS_PATTERN, value):
        unknown = [s for s in value.split(",") if s not in STATUS_WORDS]
        raise forms.ValidationError(
            f"Unknown status {', '.join(unknown) or repr(value)}; use open, waiting or one of "
            f"{', '.join(t.STATES)}, comma-separated.")


def _assignee(value: str) -> None:
    if not re.fullmatch(ASSIGNEE_PATTERN, value):
        raise forms.ValidationError("Use a user id, 'me' or 'none'.")


class _RefuseEmpty:
    """A free-text field that still must not be empty (its value has a grammar)."""

    refuse_empty = True


class StatusField(_RefuseEmpty, forms.CharField):
    pass


class AssigneeField(_RefuseEmpty, forms.CharField):
    pass


@extend_schema_field({"type": "string", "pattern": STATUS_PATTERN})
class StatusFilter(django_filters.CharFilter):
    field_class = StatusField


@extend_schema_field({"type": "string", "pattern": ASSIGNEE_PATTERN})
class AssigneeFilter(django_filters.CharFilter):
    field_class = AssigneeField


class ReferralQueueFilter(FilterSet):
    status = StatusFilter(validators=[_status_list], help_text=(
        "A state, several comma-separated, `open` (new, triaged, scheduled, in_treatment) or "
        "`waiting` (new, triaged, scheduled: awaiting a first visit). Default: all states."))
    service = django_filters.CharFilter(help_text="Service code.")
    priority = django_filters.ChoiceFilter(choices=Referral.Priority.choices)
    assignee = AssigneeFilter(validators=[_assignee],
                              help_text="A user id, `me`, or `none` (unassigned).")
    patient = IdFilter(help_text="Patient id.")
    sla_breached = BooleanFilter(help_text=SLA_BREACHED_HELP)
    ordering = django_filters.ChoiceFilter(
        choices=[(o, o) for o in selectors.ORDERINGS if o], help_text=(
            "Default: urgent first, then longest waiting (oldest referral first). "
            "`priority` is the same; `-priority` puts routine first; "
            "`days_waiting`/`-days_waiting` and `referred_at`/`-referred_at` sort "
            "by waiting time and referral date."))

    class Meta:
        model = Referral
        fields = ["status", "service", "priority", "assignee", "patient", "sla_breached",
                  "ordering"]

    def filter_queryset(self, queryset):
        # referral_queue owns the combined conditions (open/waiting, "me", the SLA clock)
        # and the ordering.
        p = self.form.cleaned_data
        return selectors.referral_queue(
            user=self.request.user if self.request else None, status=p.get("status"),
            service=p.get("service"), priority=p.get("priority"), assignee=p.get("assignee"),
            breached=p.get("sla_breached"), patient=p.get("patient"),
            ordering=p.get("ordering") or "")
