"""Row-level scoping by site (docs/product.md §6), written once: staff see and act on the patients of
their own sites only. Every selector that reads patient rows, or rows reached through a
patient (responses, alerts, referrals, enrolments, reminders ...), filters through here, so a
site-B patient is absent from a site-A person's lists and 404 on detail.

    visible(Patient.objects.all(), user)                 # Patient.objects.visible_to(user)
    visible(Referral.objects.all(), user)                # via "patient"
    visible(Attendance.objects.all(), user, "enrolment__patient")
    visible(GroupSeries.objects.all(), user, None)       # rows with their own `site`

A superuser sees everything; ``user=None`` means "no person" (tasks, services) and does not
scope; an anonymous user sees nothing.
"""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Patient, Site


def site_ids_of(user):
    """The sites ``user`` works at, as a subquery."""
    return Site.staff.through.objects.filter(user_id=user.pk).values("site_id")


def sites_of(user) -> QuerySet[Site]:
    """The sites ``user`` may put a new record at (every site for a superuser): what site
    pickers offer and what an API's ``site`` accepts. None for anyone not logged in (the
    OpenAPI generator's fake request included)."""
    if getattr(user, "is_superuser", False):
        return Site.objects.all()
    if not getattr(user, "is_authenticated", False):
        return Site.objects.none()
    return Site.objects.filter(staff=user)


def unscoped(user) -> bool:
    return user is None or getattr(user, "is_superuser", False)


def visible(qs: QuerySet, user, via: str | None = "patient") -> QuerySet:
    """``qs`` narrowed to rows whose patient (reached through ``via``; ``None`` for rows
    that carry their own ``site``, "" for Patient itself) is at one of ``user``'s sites."""
    if unscoped(user):
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    lookup = f"{via}__site_id__in" if via else "site_id__in"
    return qs.filter(**{lookup: site_ids_of(user)})


def visible_now(qs: QuerySet, user, via: str | None = "patient") -> QuerySet:
    """``visible()`` with the user's sites read now (one small query) and written into the
    filter as values. The same rows; but the planner then knows how many the filter keeps
    (a subquery looks as if it might keep almost none, which turns an index-ordered page
    into sorting every match). For lists that page by an index."""
    if unscoped(user) or not getattr(user, "is_authenticated", False):
        return visible(qs, user, via)
    lookup = "site_id__in" if not via else f"{via}__site_id__in"
    return qs.filter(**{lookup: list(site_ids_of(user).values_list("site_id", flat=True))})


def visible_patient_ids(user):
    """The ids of the patients ``user`` may see (a subquery), or None when unscoped."""
    if unscoped(user):
        return None
    return visible(Patient.objects.all(), user, "").values("pk")
