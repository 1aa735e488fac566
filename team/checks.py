"""`manage.py check --deploy`: a program without a clinical lead is an error in production
(safety alerts would escalate to nobody)."""

from django.core.checks import Error, Warning, register
from django.db import DatabaseError

from patients.models import Program


@register("ipm", deploy=True)
def clinical_lead_check(app_configs=None, **kwargs):
    try:
        programs = list(Program.objects.select_related("clinical_lead"))
    except DatabaseError as exc:
        return [Warning(f"Could not read the program settings to check the clinical lead: {exc}",
                        hint="Run `manage.py migrate`, then check again.", id="team.W001")]
    if not programs:
        return [Error("No program exists yet, so no clinical lead is set.",
                      hint="Run `manage.py demo_data` or set one up at /team/program/.",
                      id="team.E001")]
    return [Error(f"Program '{p.name}' has no active clinical lead: an unacknowledged safety "
                  "alert would escalate to nobody.",
                  hint="Set the clinical lead at /team/program/ (PATCH /api/program/).",
                  obj=p, id="team.E001")
            for p in programs if p.clinical_lead is None or not p.clinical_lead.is_active]
