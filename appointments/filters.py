"""Query parameters of the appointments list API (ipm.filters explains the strictness)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import django_filters

from ipm.filters import FilterSet, IdFilter
from patients.models import Program

from .models import Appointment


def _midnight(day) -> datetime:
    return datetime.combine(day, datetime.min.time(), ZoneInfo(Program.default().time_zone))


class AppointmentFilter(FilterSet):
    """`?clinician=&patient=&service=&site=&referral=&status=&from=&to=` (dates inclusive,
    in the program's time zone)."""

    clinician = IdFilter(field_name="clinician_id")
    patient = IdFilter(field_name="patient_id")
    site = IdFilter(field_name="site_id")
    service = django_filters.CharFilter(field_name="service__code")
    referral = IdFilter(field_name="referral_id")
    status = django_filters.MultipleChoiceFilter(choices=Appointment.Status.choices)
    from_ = django_filters.DateFilter(method="filter_from", label="Appointments starting on or "
                                                                  "after this date (YYYY-MM-DD).")
    to = django_filters.DateFilter(method="filter_to", label="Appointments starting on or "
                                                             "before this date (YYYY-MM-DD).")

    class Meta:
        model = Appointment
        fields: list[str] = []

    def filter_from(self, queryset, name, value):
        return queryset.filter(starts_at__gte=_midnight(value))

    def filter_to(self, queryset, name, value):
        return queryset.filter(starts_at__lt=_midnight(value + timedelta(days=1)))


# `from` is a Python keyword: declared as `from_`, published as `from`.
AppointmentFilter.base_filters["from"] = AppointmentFilter.base_filters.pop("from_")
