"""Forms for outcomes pages. Questionnaire fields are generated from the instrument registry
and validated by the instrument engine (the same per-item messages as the API)."""

from datetime import datetime, time

from django import forms
from django.utils import timezone

from ipm.validators import validate_care_date

from . import instruments, mme
from .models import MedicationLine

SCALE_OPTIONS = 11  # 0-10 numeric rating scales (PEG, NPS) render as a row of buttons


def field_name(code: str, key: str) -> str:
    return f"{code}-{key}"


def answers_from_post(data, codes) -> dict[str, dict[str, str]]:
    """{code: {item key: raw value}} for every item of `codes` present in the POST."""
    out = {}
    for code in codes:
        items = instruments.get(code).items
        out[code] = {item.key: data.get(field_name(code, item.key), "") for item in items
                     if data.get(field_name(code, item.key), "") != ""}
    return out


def instrument_fields(code: str, values: dict | None = None, errors: dict | None = None) -> dict:
    """Template-ready description of one instrument's questions with the current values and
    per-item errors ({item key: [messages]})."""
    instrument = instruments.get(code)
    values, errors = values or {}, errors or {}
    items = []
    for number, item in enumerate(instrument.items, start=1):
        name = field_name(code, item.key)
        current = str(values.get(item.key, ""))
        scale = len(item.options) == SCALE_OPTIONS
        items.append({
            "number": number, "key": item.key, "name": name, "id": f"f-{name}",
            "text": item.text, "required": item.required, "scale": scale,
            "errors": errors.get(item.key, []),
            "options": [{"value": o.value, "label": o.label, "id": f"f-{name}-{o.value}",
                         "checked": current == str(o.value),
                         "anchor": o.label if o.label != str(o.value) else ""}
                        for o in item.options],
            "anchors": ([item.options[0].label, item.options[-1].label] if scale else []),
        })
    extra = {key: msgs for key, msgs in errors.items() if key not in {i.key for i in instrument.items}}
    return {"code": code, "name": instrument.name, "recall_period": instrument.recall_period,
            "items": items, "other_errors": [m for msgs in extra.values() for m in msgs]}


class ResponseMetaForm(forms.Form):
    answered_on = forms.DateField(
        required=False, validators=[validate_care_date], label="Date answered",
        help_text="Leave empty for now. Paper questionnaires: the date on the form.",
        widget=forms.DateInput(attrs={"type": "date"}))

    def clean_answered_on(self):
        day = self.cleaned_data.get("answered_on")
        if day and day > timezone.localdate():
            raise forms.ValidationError("The date cannot be in the future.")
        return day

    def answered_at(self):
        day = self.cleaned_data.get("answered_on")
        if not day or day == timezone.localdate():
            return None
        return timezone.make_aware(datetime.combine(day, time(12)))


DRUG_CHOICES = [("", "—")] + [(code, f"{o.display} ({o.unit})") for code, o in mme.OPIOIDS.items()]


class MedicationLineForm(forms.Form):
    drug = forms.ChoiceField(choices=DRUG_CHOICES, required=False)
    dose = forms.DecimalField(required=False, min_value=0, max_digits=8, decimal_places=2,
                              label="Dose (mg, or mcg/h for a patch)")
    doses_per_day = forms.DecimalField(required=False, min_value=0, max_digits=5,
                                       decimal_places=2, initial=1, label="Doses a day")
    route = forms.ChoiceField(choices=[("", "—"), *MedicationLine.Route.choices], required=False)

    def clean(self):
        data = super().clean()
        if data.get("drug") and data.get("dose") in (None, ""):
            self.add_error("dose", "Enter the dose.")
        if not data.get("drug") and data.get("dose") not in (None, ""):
            self.add_error("drug", "Choose the opioid.")
        return data

    def line(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("drug"):
            return None
        return {"drug": data["drug"], "dose": data["dose"],
                "doses_per_day": data.get("doses_per_day") or 1, "route": data.get("route") or ""}


MedicationLineFormSet = forms.formset_factory(MedicationLineForm, extra=4, max_num=12)


class MedicationReviewForm(forms.Form):
    total_mme = forms.DecimalField(
        required=False, min_value=0, max_digits=7, decimal_places=1, label="Total MME/day",
        help_text="Only when the opioids are not listed above (0 = no opioids).")
    reviewed_on = forms.DateField(required=False, label="Review date",
                                  validators=[validate_care_date],
                                  widget=forms.DateInput(attrs={"type": "date"}),
                                  help_text="Leave empty for today.")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_reviewed_on(self):
        day = self.cleaned_data.get("reviewed_on")
        if day and day > timezone.localdate():
            raise forms.ValidationError("The date cannot be in the future.")
        return day

    def reviewed_at(self):
        day = self.cleaned_data.get("reviewed_on")
        if not day or day == timezone.localdate():
            return None
        return timezone.make_aware(datetime.combine(day, time(12)))


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label="Action taken", widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="What you did, e.g. 'Called the patient; safety plan agreed'.")
