"""Roles are Django groups (SPEC §1). Checks live here so pages and API share them.

- clinician: patient care (intake, questionnaires, alerts, referrals)
- coordinator: referral queue, group visits, reminders, questionnaire links
- admin: program dashboard and configuration; aggregates only, never patient detail,
  unless the same user also holds a clinical role.
- integration: a service account of a system around the program (SPEC §10): may send
  referrals in (POST /fhir/ServiceRequest, POST /fhir/ transaction) and read nothing.
A Django superuser holds every role.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
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
    ADMIN: {"referrals": ["service"], "metrics": ["metricsnapshot"], "patients": ["program"]},
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


def can_see_patients(user) -> bool:
    return has_role(user, *PATIENT_ROLES)


class RoleRequiredMixin(LoginRequiredMixin):
    """Class-based views: `roles = (CLINICIAN, ...)`; anyone else gets 403."""

    roles: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if self.roles and not has_role(request.user, *self.roles):
            raise PermissionDenied("Your role does not give access to this page.")
        return super().dispatch(request, *args, **kwargs)


def role_required(*roles: str):
    """Function views: `@role_required(COORDINATOR)`."""

    def decorator(view):
        from functools import wraps

        from django.contrib.auth.views import redirect_to_login

        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                raise PermissionDenied("Your role does not give access to this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class HasRole(BasePermission):
    """DRF: the view declares `allowed_roles` (and optionally `write_roles` for unsafe methods)."""

    message = "Your role does not give access to this resource."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        roles = getattr(view, "allowed_roles", ALL_ROLES)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            roles = getattr(view, "write_roles", roles)
        return has_role(request.user, *roles)


def roles_context(request):
    """Template context: `roles` (set) and `is_clinician` etc. for navigation."""
    roles = user_roles(getattr(request, "user", None))
    return {
        "roles": roles,
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
