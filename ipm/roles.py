"""Roles are Django groups (docs/product.md §1), and one permission table says what each may do.

- clinician: patient care (intake and stratification, pathway decisions, questionnaires,
  medication review, acting on safety alerts, referrals)
- coordinator: referral queue, group visits and attendance, reminders, questionnaire links
- admin: program dashboard and configuration; aggregates only, never patient detail,
  unless the same user also holds a clinical role.
- integration: a service account of a system around the program (docs/product.md §1): may send
  referrals in (POST /fhir/ServiceRequest, POST /fhir/ transaction) and read nothing: no
  permission below names it, and IntegrationOnlyMiddleware refuses it the pages any
  signed-in person may open.
A Django superuser holds every role.

`PERMISSIONS` is the only place that maps an action to roles. Pages name a permission
(`@requires("patient.intake")`, or `permission = "patient.view"` on a class-based view),
API and FHIR views too (`permission = "..."`, or a dict by action / HTTP method), and
`HasRole` enforces it, so a page and the API operation that does the same thing cannot
disagree. tests/ipm/test_access_matrix.py walks every URL and fails for a route that names
no permission from this table.
"""

from functools import wraps

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from rest_framework.permissions import BasePermission

CLINICIAN = "clinician"
COORDINATOR = "coordinator"
ADMIN = "admin"
INTEGRATION = "integration"
STAFF_ROLES = (CLINICIAN, COORDINATOR, ADMIN)  # people; ALL_ROLES keeps its old meaning
ROLES = (*STAFF_ROLES, INTEGRATION)

# Who may see patient-level data at all.
PATIENT_ROLES = (CLINICIAN, COORDINATOR)
ALL_ROLES = STAFF_ROLES
# What an integration-only account may call (method, path prefix); everything else is 403.
INTEGRATION_ALLOWED = (("POST", "/api/auth/token/"), ("POST", "/fhir/ServiceRequest"),
                       ("POST", "/fhir/"), ("POST", "/accounts/logout/"))

CLINICIANS = (CLINICIAN,)
COORDINATORS = (COORDINATOR,)
ADMINS = (ADMIN,)

# The permission table (docs/product.md §1): permission -> roles that hold it.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    # Reference data without patient detail: instruments, services, FHIR metadata.
    "reference.view": ALL_ROLES,
    # Patient data: clinicians and coordinators read it; admins never do.
    "patient.view": PATIENT_ROLES,
    # Demographics are the first step of intake (docs/product.md §3.1): who takes in, registers.
    "patient.register": CLINICIANS,
    "patient.intake": CLINICIANS,            # intake and stratification
    "patient.pathway": CLINICIANS,           # confirm or override the pathway
    # Site, responsible clinician and care manager (docs/product.md §6): the care team of a
    # patient, changed by the clinicians and coordinators who see them.
    "patient.care_team": PATIENT_ROLES,
    "response.record": PATIENT_ROLES,        # enter a completed questionnaire
    "medication.review": CLINICIANS,         # opioid (MME) review
    "alert.view": PATIENT_ROLES,
    "alert.act": CLINICIANS,                 # acknowledge a safety alert with the action
    "questionnaire_link.send": PATIENT_ROLES,
    "worklist.view": PATIENT_ROLES,
    "referral.view": PATIENT_ROLES,
    "referral.create": PATIENT_ROLES,
    "referral.triage": PATIENT_ROLES,        # transitions and assignment
    "mdt.view": PATIENT_ROLES,
    "mdt.plan": COORDINATORS,                # meetings, agenda, attendees
    "mdt.decide": PATIENT_ROLES,             # the team's decision per referral
    "group.view": PATIENT_ROLES,
    "group.manage": PATIENT_ROLES,           # series, sessions, enrolment and waitlist
    "attendance.mark": PATIENT_ROLES,
    "reminder.view": PATIENT_ROLES,
    "reminder.resend": PATIENT_ROLES,
    "metrics.view": ADMINS,                  # dashboard, exports, snapshots (aggregates)
    # Care-management billing (SPEC §9): minutes and codes per patient and month; claims name
    # the patient, so coordinators (who run billing) and admins (program exports) hold it.
    "metrics.billing": (ADMIN, COORDINATOR),
    # Stepped care and care management (SPEC §9).
    "care.view": PATIENT_ROLES,              # worklist, contacts, step history, care plan
    "care.contact": PATIENT_ROLES,           # record a care-manager contact
    "care.step": CLINICIANS,                 # a care-step decision (up, down, stay)
    "care.plan": PATIENT_ROLES,              # goals in the patient's words
    # Individual appointments and clinician diaries (docs/product.md §8).
    "appointment.view": PATIENT_ROLES,       # calendars, appointments, free slots, notes
    "appointment.book": PATIENT_ROLES,       # book, attendance, cancel, missed-visit review
    "appointment.feed": PATIENT_ROLES,       # issue a clinician's private calendar-feed link
    "note.write": CLINICIANS,                # visit notes: write, sign, addenda
    "metrics.export_cohort": ADMINS,         # de-identified cohort CSV (SPEC §10)
    # Systems around the program (SPEC §10).
    "referral.receive": (INTEGRATION,),      # referrals in by FHIR, from a service account
    "patient.export": CLINICIANS,            # Bulk Data $export and letter batches (own sites)
    "audit.view": ADMINS,
    "staff.manage": ADMINS,                  # people: invite, roles, sites, 2FA reset,
                                             # deactivation and caseload reassignment
    "program.configure": ADMINS,             # program settings and the readiness checklist
    "site.manage": ADMINS,                   # the program's sites (clinics)
    # No permission names INTEGRATION: a service account is refused every page, API and
    # FHIR read by the table (HasRole / requires) and by IntegrationOnlyMiddleware for the
    # pages that any signed-in person may open.
    # Clinicians' weekly hours and leave (docs/product.md §8): staff planning, no patient
    # data, so coordinators (who book) and admins (who run the program) hold it.
    "staff.availability": (COORDINATOR, ADMIN),
}

# Model permissions granted to each group, for the Django admin and for clarity.
GROUP_MODEL_PERMISSIONS = {
    CLINICIAN: {
        "patients": ["patient", "intake", "pathwaydecision"],
        "outcomes": ["questionnaireresponse", "safetyalert"],
        "referrals": ["referral"],
    },
    COORDINATOR: {
        "patients": ["patient"],
        "referrals": ["referral", "mdtmeeting"],
        "visits": ["groupseries", "groupsession", "enrolment", "attendance"],
        "reminders": ["reminder"],
    },
    ADMIN: {"referrals": ["service"], "metrics": ["metricsnapshot"], "patients": ["program"],
            "care": ["billingcode"]},
}


def user_roles(user) -> frozenset[str]:
    """The roles a user holds, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_ipm_roles", None)
    if cached is None:
        if user.is_superuser:
            cached = frozenset(ROLES)
        else:
            cached = frozenset(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._ipm_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


def roles_for(permission: str) -> tuple[str, ...]:
    try:
        return PERMISSIONS[permission]
    except KeyError:
        raise ImproperlyConfigured(f"No permission '{permission}' in ipm.roles.PERMISSIONS.")


def can(user, permission: str) -> bool:
    """Whether the user holds a role that the table gives `permission`."""
    return has_role(user, *roles_for(permission))


def is_integration_only(user) -> bool:
    """A service account: the integration role and no staff role."""
    held = user_roles(user)
    return INTEGRATION in held and not (held & set(STAFF_ROLES))


def integration_may_call(method: str, path: str) -> bool:
    for allowed_method, prefix in INTEGRATION_ALLOWED:
        if method == allowed_method and (path == prefix or (prefix != "/fhir/"
                                                            and path.startswith(prefix))):
            return True
    return False


class RoleRequiredMixin(LoginRequiredMixin):
    """Class-based views: `permission = "patient.view"` (a key of PERMISSIONS); anyone else
    gets 403. (`roles = (...)` is the older form, kept for branches in flight; the access
    matrix test refuses it.)"""

    permission: str = ""
    roles: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        allowed = roles_for(self.permission) if self.permission else self.roles
        if allowed and not has_role(request.user, *allowed):
            raise PermissionDenied("Your role does not give access to this page.")
        return super().dispatch(request, *args, **kwargs)


def _page_guard(view, allowed, permission: str | None):
    from django.contrib.auth.views import redirect_to_login

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not has_role(request.user, *allowed()):
            raise PermissionDenied("Your role does not give access to this page.")
        return view(request, *args, **kwargs)

    wrapped.ipm_permission = permission
    return wrapped


def requires(permission: str):
    """Function views: `@requires("patient.intake")`: signed in and holding the permission
    (PERMISSIONS), else the login page or 403."""
    roles_for(permission)  # an unknown name fails at import, not on the first request

    def decorator(view):
        return _page_guard(view, lambda: roles_for(permission), permission)

    return decorator


def role_required(*roles: str):
    """The older form of `requires` naming roles directly; kept for branches in flight (the
    access matrix test refuses routes that use it)."""

    def decorator(view):
        return _page_guard(view, lambda: roles, None)

    return decorator


def view_permissions(view) -> list[str]:
    """Every permission a DRF view declares (for OPTIONS and for the access matrix)."""
    declared = getattr(view, "permission", None)
    if isinstance(declared, dict):
        return list(declared.values())
    return [declared] if declared else []


def view_permission(view, method: str) -> str | None:
    """The permission a DRF view needs for this request: `permission` is a name, or a dict
    keyed by viewset action (`"intake"`) or HTTP method (`"POST"`); HEAD is GET."""
    declared = getattr(view, "permission", None)
    if not isinstance(declared, dict):
        return declared
    action = getattr(view, "action", None)
    if action in declared:
        return declared[action]
    return declared.get("GET" if method == "HEAD" else method)


class HasRole(BasePermission):
    """DRF: the view declares `permission` (see view_permission); the table says who holds
    it. Views without one fall back to the older `allowed_roles` / `write_roles`."""

    message = "Your role does not give access to this resource."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if getattr(view, "permission", None):
            if request.method == "OPTIONS":
                return any(can(request.user, p) for p in view_permissions(view))
            permission = view_permission(view, request.method)
            if permission is None:
                # A method the view does not serve gets its 405 from DRF; one it serves
                # without a permission in the table is refused, not guessed.
                method = request.method.lower()
                return not (method in view.http_method_names and hasattr(view, method))
            return can(request.user, permission)
        roles = getattr(view, "allowed_roles", ALL_ROLES)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            roles = getattr(view, "write_roles", roles)
        return has_role(request.user, *roles)


def roles_context(request):
    """Template context: `roles` (set) and `is_clinician` etc. for navigation."""
    roles = user_roles(getattr(request, "user", None))
    return {
        "roles": roles & set(STAFF_ROLES) if INTEGRATION in roles else roles,
        "is_clinician": CLINICIAN in roles,
        "is_coordinator": COORDINATOR in roles,
        "is_admin_role": ADMIN in roles,
        "sees_patients": bool(roles & set(PATIENT_ROLES)),
    }


def ensure_role_groups(sender=None, **kwargs):
    """Create the role groups and grant their model permissions (idempotent, post_migrate)."""
    from django.contrib.auth.models import Group, Permission

    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for app_label, models in GROUP_MODEL_PERMISSIONS.get(role, {}).items():
            wanted += list(
                Permission.objects.filter(content_type__app_label=app_label,
                                          content_type__model__in=models)
            )
        if wanted:
            group.permissions.add(*wanted)
