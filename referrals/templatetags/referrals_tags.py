from django import template

from referrals import transitions as t
from referrals.models import Referral

register = template.Library()

_STATUS_CLASS = {
    t.NEW: "text-bg-primary",
    t.TRIAGED: "text-bg-info",
    t.SCHEDULED: "text-bg-warning",
    t.IN_TREATMENT: "text-bg-success",
    t.DISCHARGED: "text-bg-secondary",
    t.DECLINED: "text-bg-dark",
    t.CANCELLED: "text-bg-light border",
}


@register.filter
def status_class(status: str) -> str:
    return _STATUS_CLASS.get(status, "text-bg-secondary")


@register.filter
def action_label(state: str) -> str:
    return t.ACTION_LABELS.get(state, state)


@register.filter
def needs_reason(state: str) -> bool:
    return state in t.REASON_REQUIRED


@register.filter
def state_label(state: str) -> str:
    return dict(Referral.Status.choices).get(state, state or "—")


@register.filter
def person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username
