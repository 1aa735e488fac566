"""Query parameters of the reminders outbox API (ipm.filters explains the strictness)."""

import django_filters

from ipm.filters import FilterSet, IdFilter

from .models import Reminder


class ReminderFilter(FilterSet):
    patient = IdFilter(field_name="patient_id", help_text="Patient id.")
    status = django_filters.ChoiceFilter(choices=Reminder.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Reminder.Kind.choices)
    reason = django_filters.ChoiceFilter(choices=Reminder.Reason.choices,
                                         help_text="Why a reminder was not sent.")

    class Meta:
        model = Reminder
        fields = ["patient", "status", "kind", "reason"]
