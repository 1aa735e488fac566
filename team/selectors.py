"""Reads of the care team: sites with counts, staff with roles, sites and caseload (each
list in a fixed number of queries)."""

from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django_otp import devices_for_user

from ipm import roles
from patients.models import Patient, Program, Site

User = get_user_model()


def sites_with_counts(program: Program | None = None):
    program = program or Program.default()
    patients = (Patient.objects.filter(site=OuterRef("pk")).order_by().values("site")
                .annotate(n=Count("pk")).values("n"))
    return (Site.objects.filter(program=program)
            .annotate(staff_count=Count("staff", filter=Q(staff__is_active=True), distinct=True),
                      patient_count=Coalesce(Subquery(patients, output_field=IntegerField()),
                                             Value(0)))
            .order_by("pk"))


def _caseload():
    held = (Patient.objects.filter(Q(clinician=OuterRef("pk")) | Q(care_manager=OuterRef("pk")))
            .order_by().values(marker=Value(1)).annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(held, output_field=IntegerField()), Value(0))


def staff_list(*, q: str = "", active=None):
    """Everyone who has or had a login (inactive people included, docs/product.md §6)."""
    qs = (User.objects.annotate(caseload=_caseload())
          .select_related("staff_profile").prefetch_related("groups", "sites")
          .order_by("-is_active", "last_name", "first_name", "username"))
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(first_name__icontains=q)
                       | Q(last_name__icontains=q) | Q(email__icontains=q))
    if active in ("true", "1", True):
        qs = qs.filter(is_active=True)
    elif active in ("false", "0", False):
        qs = qs.filter(is_active=False)
    return qs


def people_for(*role_names: str, site: Site | None = None):
    """Active people holding one of the roles (for lead and caseload pickers)."""
    qs = User.objects.filter(is_active=True, groups__name__in=role_names).distinct()
    if site is not None:
        qs = qs.filter(sites=site)
    return qs.order_by("last_name", "first_name", "username")


def clinicians():
    return people_for(roles.CLINICIAN)


def second_factor_devices(user) -> int:
    """How many second-factor devices (an authenticator app, a set of recovery codes) the
    person holds."""
    return sum(1 for _ in devices_for_user(user, confirmed=None))


def staff_phone(user) -> str:
    """A staff member's phone for urgent SMS (safety alerts), "" when none: registered with
    reminders (reminders.kinds.register_staff_phone) from TeamConfig.ready()."""
    from_profile = getattr(user, "staff_profile", None)  # one query when not cached
    return getattr(from_profile, "phone", "") or ""
