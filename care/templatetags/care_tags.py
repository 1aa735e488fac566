"""Care panels for pages other apps own, loaded by their templates (`{% load care_tags %}`)
so no other app imports care: the patient page's care panel and the MDT agenda's step form."""

from django import template

from ipm.roles import can

from .. import selectors
from ..models import STEP_LABELS, Contact, Goal

register = template.Library()

STEP_CHOICES = [(step, label) for step, label in STEP_LABELS.items()]
GOAL_ACTIONS = [(Goal.Status.ACHIEVED, "Achieved"), (Goal.Status.DROPPED, "Drop")]


def _common(context) -> dict:
    request = context.get("request")
    return {"request": request, "csrf_token": context.get("csrf_token"),
            "next": request.get_full_path() if request else "",
            "contact_kinds": Contact.Kind.choices, "contact_outcomes": Contact.Outcome.choices,
            "step_choices": STEP_CHOICES,
            "can_step": can(getattr(request, "user", None), "care.step")}


@register.inclusion_tag("care/_patient_care.html", takes_context=True)
def care_panel(context, patient):
    """Step, contacts, minutes this month and the care plan (goals, PSFS link)."""
    care = selectors.patient_care(patient)
    return {**_common(context), "patient": patient, "care": care,
            "step_label": STEP_LABELS.get(care["step"], ""),
            "suggest": min(care["step"] + 1, 3) if care["consider_step_up"] else care["step"],
            "goal_actions": GOAL_ACTIONS}


@register.inclusion_tag("care/_mdt_step.html", takes_context=True)
def care_mdt_step(context, patient, meeting, uid=""):
    """A step decision taken by the MDT from its agenda (clinicians record it)."""
    return {**_common(context), "patient": patient, "meeting": meeting,
            "uid": f"mdtstep{uid or patient.pk}", "suggest": min(patient.step + 1, 3)}


@register.simple_tag
def care_step_label(step):
    return STEP_LABELS.get(step, "")


@register.filter
def next_step(step) -> int:
    """The step above, or 3 at the top (the form's preselected choice)."""
    return min(int(step) + 1, 3)
