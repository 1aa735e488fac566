"""Query parameters of the outcomes list APIs (ipm.filters explains the strictness)."""

import django_filters

from ipm.filters import FilterSet

from . import instruments
from .models import QuestionnaireResponse, SafetyAlert


class PatientResponseFilter(FilterSet):
    instrument = django_filters.ChoiceFilter(
        choices=[(code, code) for code in instruments.CODES], help_text="Instrument code.")

    class Meta:
        model = QuestionnaireResponse
        fields = ["instrument"]


class AlertFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=SafetyAlert.Status.choices,
                                         help_text="`open`: awaiting acknowledgement.")

    class Meta:
        model = SafetyAlert
        fields = ["status"]
