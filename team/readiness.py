"""Readiness (docs/product.md §6): what would make the program unsafe or silent, for the admin setup
page, the banner on every staff page and `check --deploy`.

`readiness_problems()` runs a handful of queries; the banner reads `readiness_count()`, one
query on every staff page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q

from ipm import roles
from patients.models import Patient, Program, Site
from patients.program import has_working_hours


@dataclass(frozen=True)
class Problem:
    code: str
    severity: str  # "unsafe" (a safety alert may reach nobody) or "silent" (no one hears)
    message: str
    fix_url: str


def lead_missing(program: Program) -> bool:
    lead = program.clinical_lead
    return lead is None or not lead.is_active


def sms_configured() -> bool:
    backend = getattr(settings, "SMS_BACKEND", "")
    return backend.endswith("HttpBackend") and bool(getattr(settings, "SMS_HTTP_URL", ""))


def readiness_problems(program: Program | None = None) -> list[Problem]:
    program = program or Program.default()
    User = get_user_model()
    problems = []
    if lead_missing(program):
        problems.append(Problem(
            "no_clinical_lead", "unsafe",
            "No clinical lead: an unacknowledged safety alert escalates to nobody.",
            "/team/program/"))
    elif program.deputy_lead_id is None:
        pass  # a deputy is recommended, not required
    clinicians = (User.objects.filter(is_active=True, groups__name=roles.CLINICIAN)
                  .filter(Q(email="") | Q(staff_profile__isnull=True)
                          | Q(staff_profile__phone="")).distinct())
    names = [u.get_full_name() or u.username for u in clinicians.order_by("username")[:10]]
    if names:
        problems.append(Problem(
            "clinician_unreachable", "unsafe",
            f"Clinicians without an email or a phone for alerts: {', '.join(names)}"
            + ("…" if len(names) == 10 else "") + ".", "/team/staff/"))
    if not sms_configured():
        problems.append(Problem(
            "no_sms_provider", "silent",
            "No SMS provider is configured (SMS_BACKEND = reminders.sms.HttpBackend with "
            "SMS_HTTP_URL): SMS reminders and alerts are not delivered.", "/team/"))
    if (program.escalation_mode == Program.EscalationMode.WORKING_HOURS
            and not has_working_hours(program.working_hours)):
        problems.append(Problem(
            "no_working_hours", "unsafe",
            "No working hours are set: safety alerts cannot escalate in working hours.",
            "/team/program/"))
    empty = list(program.sites.annotate(n=Count("staff", filter=Q(staff__is_active=True)))
                 .filter(n=0).values_list("name", flat=True))
    if empty:
        problems.append(Problem(
            "site_without_staff", "unsafe",
            f"Sites without staff: {', '.join(empty)}: their patients' alerts reach no one "
            "at the site.", "/team/sites/"))
    if not _someone_takes_alerts(program):
        problems.append(Problem(
            "alerts_unassignable", "unsafe",
            "No clinical lead, no deputy and no active clinician at some site: a safety alert "
            "of a patient there without a clinician has no one to assign it to.",
            "/team/program/"))
    orphans = Patient.objects.filter(program=program, clinician__isnull=True).count()
    if orphans:
        problems.append(Problem(
            "patients_without_clinician", "unsafe",
            f"{orphans} patient(s) have no responsible clinician.", "/team/reassign/"))
    return problems


def _leads_q(prefix: str = "") -> Q:
    return (Q(**{f"{prefix}clinical_lead__is_active": True})
            | Q(**{f"{prefix}deputy_lead__is_active": True}))


def _site_without_clinician(program_ref):
    clinicians = Site.staff.through.objects.filter(
        site_id=OuterRef("pk"), user__is_active=True, user__groups__name=roles.CLINICIAN)
    return Site.objects.filter(program=program_ref).exclude(Exists(clinicians))


def _someone_takes_alerts(program: Program) -> bool:
    """docs/product.md §7: a new alert goes to the clinician, the care manager, the lead, the
    deputy, else an active clinician of the patient's site. Unsafe when no lead or deputy is
    active and some site has no active clinician."""
    if Program.objects.filter(_leads_q(), pk=program.pk).exists():
        return True
    return not _site_without_clinician(program).exists()


def readiness_count() -> int:
    """How many problems remain, in one query (the banner shows on every staff page; the
    same rules as readiness_problems)."""
    User = get_user_model()
    clinicians = User.objects.filter(is_active=True, groups__name=roles.CLINICIAN)
    unreachable = clinicians.filter(Q(email="") | Q(staff_profile__isnull=True)
                                    | Q(staff_profile__phone=""))
    staffed = Site.staff.through.objects.filter(site_id=OuterRef("pk"), user__is_active=True)
    row = (Program.objects.order_by("pk").annotate(
        lead_ok=Exists(User.objects.filter(pk=OuterRef("clinical_lead_id"), is_active=True)),
        unreachable=Exists(unreachable),
        empty_site=Exists(Site.objects.filter(program=OuterRef("pk")).exclude(Exists(staffed))),
        orphans=Exists(Patient.objects.filter(program=OuterRef("pk"), clinician__isnull=True)),
        leads_ok=Exists(Program.objects.filter(_leads_q(), pk=OuterRef("pk"))),
        site_no_clinician=Exists(_site_without_clinician(OuterRef("pk"))),
    ).values("lead_ok", "unreachable", "empty_site", "orphans", "escalation_mode",
             "working_hours", "leads_ok", "site_no_clinician").first())
    if row is None:
        return 1  # no program yet: no clinical lead
    count = (not row["lead_ok"]) + row["unreachable"] + row["empty_site"] + row["orphans"]
    count += not row["leads_ok"] and row["site_no_clinician"]
    count += not sms_configured()
    count += (row["escalation_mode"] == Program.EscalationMode.WORKING_HOURS
              and not has_working_hours(row["working_hours"]))
    return int(count)


def readiness_changed() -> None:
    """Kept for the services that change what readiness depends on (a hook for a cache)."""


def readiness_context(request) -> dict:
    """Template context processor: `readiness_count` for staff pages (0 when not logged in)."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False) or not roles.user_roles(user) & set(
            roles.STAFF_ROLES):
        return {}
    try:
        count = readiness_count()
    except Exception:  # noqa: BLE001 - a banner must never break a page
        return {}
    return {"readiness_count": count,
            "readiness_fixable": roles.has_role(user, roles.ADMIN)}
