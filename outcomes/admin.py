"""Admins edit the follow-up schedule here. Patient-level outcome data (responses, alerts,
links, medication reviews) is not exposed in the admin: admins see aggregates only."""

from django import forms
from django.contrib import admin

from . import instruments
from .models import ScheduleRule


class ScheduleRuleForm(forms.ModelForm):
    instrument = forms.ChoiceField(choices=[(c, instruments.get(c).name) for c in instruments.CODES])

    class Meta:
        model = ScheduleRule
        fields = ["program", "instrument", "weeks_after_intake", "at_discharge", "active"]


@admin.register(ScheduleRule)
class ScheduleRuleAdmin(admin.ModelAdmin):
    """Rules without a program are the default schedule; a program with rules of its own
    uses only those: to change one program, add its full schedule with that program set."""

    form = ScheduleRuleForm
    list_display = ("instrument", "when", "program_label", "active")
    list_filter = ("program", "instrument", "active")
    list_editable = ("active",)
    ordering = ("program", "instrument", "at_discharge", "weeks_after_intake")

    @admin.display(description="When")
    def when(self, rule):
        return "at discharge" if rule.at_discharge else (
            "at intake" if rule.weeks_after_intake == 0 else f"week {rule.weeks_after_intake}")

    @admin.display(description="Program", ordering="program")
    def program_label(self, rule):
        return rule.program or "Default (every program)"
