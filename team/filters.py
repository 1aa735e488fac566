"""Query parameters of the staff list API (ipm.filters explains the strictness)."""

import django_filters
from django.contrib.auth import get_user_model

from ipm.filters import BooleanFilter, FilterSet

from . import selectors


class StaffFilter(FilterSet):
    q = django_filters.CharFilter(help_text="Search by username, name or email.")
    is_active = BooleanFilter(help_text="Only active (true) or deactivated (false) people.")

    class Meta:
        model = get_user_model()
        fields = ["q", "is_active"]

    def filter_queryset(self, queryset):
        # staff_list owns the search and the caseload annotation.
        p = self.form.cleaned_data
        return selectors.staff_list(q=p.get("q") or "", active=p.get("is_active"))
