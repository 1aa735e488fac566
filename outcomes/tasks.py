"""Celery tasks for outcomes. Tasks take ids, claim rows with conditional UPDATEs and call
services, so a retry or an overlapping run never acts twice."""

import logging
from datetime import timedelta

from celery import shared_task
from django.db.models import Min, Q
from django.utils import timezone

from patients.models import Program

from .models import SafetyAlert
from .selectors import links_to_plan
from .services import alert_escalate, questionnaire_link_create

logger = logging.getLogger(__name__)

ESCALATION_BATCH = 500


@shared_task(name="outcomes.tasks.escalate_alerts")
def escalate_alerts(now=None) -> int:
    """Take the due escalation steps of open alerts: the program's `escalation_hours` (on its
    working calendar, or clock hours in 24_7 mode) after opening to the clinical lead, as many
    again to the deputy. Returns how many steps were taken. `now` (tests, a catch-up run)
    defaults to the clock."""
    now = now or timezone.now()
    # N working hours never pass in fewer than N wall-clock hours: a cheap indexed prefilter
    # (with the shortest delay any program sets).
    shortest = Program.objects.aggregate(h=Min("escalation_hours"))["h"] or 0
    earliest = now - timedelta(hours=shortest)
    candidates = (SafetyAlert.objects
                  .filter(status=SafetyAlert.Status.OPEN, escalation_level__lt=2,
                          opened_at__lte=earliest)
                  .filter(Q(escalated_at__isnull=True) | Q(escalated_at__lte=earliest))
                  .filter(Q(patient__program__clinical_lead__isnull=False)
                          | Q(patient__program__deputy_lead__isnull=False))
                  .select_related("patient__program__clinical_lead",
                                  "patient__program__deputy_lead")
                  .order_by("opened_at", "pk")[:ESCALATION_BATCH])
    escalated = 0
    for alert in candidates:
        escalated += alert_escalate(alert=alert, now=now)
    return escalated


@shared_task(name="outcomes.tasks.plan_due_questionnaires")
def plan_due_questionnaires() -> int:
    """Create each patient's link for the measures due and not yet sent (with its
    questionnaire-due reminders: that day, +3 and +7 days): follow-ups due weeks after intake
    and questionnaires due at discharge (the NPS), those falling due today and those missed
    on earlier days (worker downtime), until they are overdue no more. Only patients who
    consented and have a channel; a measure a link was already sent for is not planned again,
    so a second run on the same day creates nothing. Returns how many links were created."""
    created = 0
    for patient, codes in links_to_plan(timezone.localdate()):
        try:
            questionnaire_link_create(patient=patient, instruments=codes, actor=None)
        except Exception:  # one bad row must not stop the others
            logger.exception("Could not create the due questionnaire link for patient %s",
                             patient.pk)
            continue
        created += 1
    return created
