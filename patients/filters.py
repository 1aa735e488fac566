"""Query parameters of the patient list API (ipm.filters explains the strictness)."""

import django_filters

from ipm.filters import FilterSet

from . import selectors
from .models import Pathway, Patient, RiskGroup


class PatientFilter(FilterSet):
    q = django_filters.CharFilter(help_text="Search by name or MRN (prefix, any case).")
    risk_group = django_filters.ChoiceFilter(choices=RiskGroup.choices)
    pathway = django_filters.ChoiceFilter(choices=Pathway.choices)
    flag = django_filters.ChoiceFilter(
        choices=[(name, name) for name in selectors.FLAG_FILTERS],
        help_text="Only patients carrying this flag.")

    class Meta:
        model = Patient
        fields = ["q", "risk_group", "pathway", "flag"]

    def filter_queryset(self, queryset):
        # patient_list owns the search (MRN or name prefixes) and the flag conditions.
        return selectors.patient_list(**{name: value or "" for name, value
                                         in self.form.cleaned_data.items()})
