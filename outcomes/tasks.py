"""Celery tasks for outcomes. Tasks take ids, claim rows with conditional UPDATEs and call
services, so a retry or an overlapping run never acts twice."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import SafetyAlert
from .selectors import links_to_plan_today
from .services import alert_escalate, alert_escalation_due_at, questionnaire_link_create

logger = logging.getLogger(__name__)

ESCALATION_BATCH = 500


@shared_task(name="outcomes.tasks.escalate_alerts")
def escalate_alerts() -> int:
    """Escalate open alerts unacknowledged after IPM_ALERT_ESCALATION_WORKING_HOURS working
    hours to the program's clinical lead. Returns how many were escalated by this run."""
    now = timezone.now()
    # N working hours never pass in fewer than N wall-clock hours: a cheap indexed prefilter.
    earliest = now - timedelta(hours=settings.IPM_ALERT_ESCALATION_WORKING_HOURS)
    candidates = (SafetyAlert.objects
                  .filter(status=SafetyAlert.Status.OPEN, escalated_at__isnull=True,
                          opened_at__lte=earliest,
                          patient__program__clinical_lead__isnull=False)
                  .select_related("patient__program__clinical_lead")
                  .order_by("opened_at", "pk")[:ESCALATION_BATCH])
    escalated = 0
    for alert in candidates:
        if now >= alert_escalation_due_at(alert, alert.patient.program):
            escalated += alert_escalate(alert=alert, now=now)
    return escalated


@shared_task(name="outcomes.tasks.plan_due_questionnaires")
def plan_due_questionnaires() -> int:
    """On each follow-up due day, create the patient's link for the measures due that day
    (with its questionnaire-due reminders: that day, +3 and +7 days). Only patients who
    consented and have a channel; skipped when an open link already covers the measures,
    so a second run on the same day creates nothing. Returns how many links were created."""
    created = 0
    for patient, codes in links_to_plan_today(timezone.localdate()):
        try:
            questionnaire_link_create(patient=patient, instruments=codes, actor=None)
        except Exception:  # one bad row must not stop the others
            logger.exception("Could not create the due questionnaire link for patient %s",
                             patient.pk)
            continue
        created += 1
    return created
