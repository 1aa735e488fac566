"""Query parameters of the patient list API (ipm.filters explains the strictness)."""

import django_filters

from ipm.filters import BooleanFilter, FilterSet

from . import selectors
from .models import Pathway, Patient, RiskGroup


class PatientFilter(FilterSet):
    q = django_filters.CharFilter(help_text="Search by name or MRN (prefix, any case).")
    risk_group = django_filters.ChoiceFilter(choices=RiskGroup.choices)
    pathway = django_filters.ChoiceFilter(choices=Pathway.choices)
    flag = django_filters.ChoiceFilter(
        choices=[(name, name) for name in selectors.FLAG_FILTERS],
        help_text="Only patients carrying this flag.")
    mine = BooleanFilter(help_text="My caseload: patients whose responsible clinician or care "
                                   "manager I am.")

    class Meta:
        model = Patient
        fields = ["q", "risk_group", "pathway", "flag", "mine"]

    def filter_queryset(self, queryset):
        # patient_list owns the search (MRN or name prefixes), the flag conditions, the
        # caseload and the site scoping (only the requesting person's sites' patients).
        data = dict(self.form.cleaned_data)
        mine = bool(data.pop("mine", None))
        return selectors.patient_list(user=getattr(self.request, "user", None), mine=mine,
                                      **{name: value or "" for name, value in data.items()})
