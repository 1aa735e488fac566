"""Forms for outcomes pages, and the one questionnaire renderer.

Questionnaire fields are generated from the instrument registry and validated by the
instrument engine (the same per-item messages as the API). `instrument_fields` feeds the one
partial, `templates/outcomes/_instrument_fields.html`, used by the intake wizard, the patient
link page (/q/<token>/) and the clinician's entry form."""

import re
from datetime import datetime, time

from django import forms
from django.utils import timezone

from ipm.validators import validate_care_date

from . import instruments, mme
from .instruments.validation import coerce_value
from .models import MedicationLine, SafetyAlert

SCALE_OPTIONS = 11  # 0-10 numeric rating scales (PEG, NPS, PSFS) render as a row of buttons


def field_name(code: str, key: str, prefix: str | None = None) -> str:
    """The form field of an item: `<code>-<key>` (several instruments in one form), or
    `<prefix><key>` for a page that shows one instrument (the intake wizard: prefix "")."""
    return f"{code}-{key}" if prefix is None else f"{prefix}{key}"


def answers_from_post(data, codes, prefix: str | None = None) -> dict[str, dict[str, str]]:
    """{code: {item key: raw value}} for every item of `codes` present in the POST.

    An answer to an item the skip logic does not ask (given the other answers) is dropped: the
    page hides such items, and without JavaScript a radio button cannot be unticked, so a form
    never fails on one. (The JSON API is strict: there it is an error on that item.)"""
    out = {}
    for code in codes:
        instrument = instruments.get(code)
        raw = {item.key: data.get(field_name(code, item.key, prefix), "")
               for item in instrument.items}
        raw = {key: value for key, value in raw.items() if value != ""}
        given = {key: coerce_value(value) for key, value in raw.items()}
        out[code] = {key: value for key, value in raw.items()
                     if instrument.applies(key, given) is not False}
    return out


_QUOTED_STEM = re.compile(r"\(\s*'(?P<stem>[^']+)'\s*\)")


def recall_wording(recall_period: str) -> tuple[str, str]:
    """(instruction, time frame) to show above the items, from the facts' recall period.

    The facts quote the instrument's own stem in parentheses ("last 2 weeks ('Over the last 2
    weeks, how often ...?')"): that stem is the instruction, shown as a sentence, not in
    quotes. A plain period ("past week") is a time frame. A period that differs per item
    ("...; past 7 days for Global07") is left to the items' own wording."""
    text = (recall_period or "").strip()
    if not text or text == "none":
        return "", ""
    if match := _QUOTED_STEM.search(text):
        return match.group("stem").strip(), ""
    if ";" in text or "'" in text:
        return "", ""
    return "", text


def instrument_fields(code: str, values: dict | None = None, errors: dict | None = None, *,
                      prefix: str | None = None, texts: dict | None = None) -> dict:
    """Template-ready description of one instrument's questions with the current values and
    per-item errors ({item key: [messages]}). Items under skip logic carry `asked_when` (the
    controlling field and value, for the show/hide script) and a hint for pages without
    JavaScript; `texts` replaces item wording (PSFS: the patient's own activities, from
    outcomes.item_labels); a text of None leaves an optional item out (nothing to ask)."""
    instrument = instruments.get(code)
    values, errors, texts = values or {}, errors or {}, texts or {}
    numbers = {item.key: n for n, item in enumerate(instrument.items, start=1)}
    given = {key: coerce_value(value) for key, value in values.items()}
    items = []
    for item in instrument.items:
        if texts.get(item.key, item.text) is None and not item.required:
            continue
        name = field_name(code, item.key, prefix)
        current = str(values.get(item.key, ""))
        scale = len(item.options) == SCALE_OPTIONS
        condition = instrument.asked_when.get(item.key)
        asked_when = None
        if condition:
            controller = instrument.item(condition.item)
            label = next(o.label for o in controller.options if o.value == condition.equals)
            asked_when = {"name": field_name(code, condition.item, prefix),
                          "value": condition.equals,
                          "hint": f"Answer only if you answered “{label}” to question "
                                  f"{numbers[condition.item]}."}
        items.append({
            "number": numbers[item.key], "key": item.key, "name": name, "id": f"f-{name}",
            "text": texts.get(item.key) or item.text,
            "required": item.required or condition is not None,  # when asked, it must be answered
            "scale": scale, "asked_when": asked_when,
            # Shown unless the answers so far say it is not asked (the script decides live).
            "hidden": instrument.applies(item.key, given) is False,
            "errors": errors.get(item.key, []),
            "options": [{"value": o.value, "label": o.label, "id": f"f-{name}-{o.value}",
                         "checked": current == str(o.value),
                         "anchor": o.label if o.label != str(o.value) else ""}
                        for o in item.options],
            "anchors": ([item.options[0].label, item.options[-1].label] if scale else []),
        })
    extra = {key: msgs for key, msgs in errors.items() if key not in numbers}
    instruction, time_frame = recall_wording(instrument.recall_period)
    return {"code": code, "name": instrument.name, "recall_period": instrument.recall_period,
            "instruction": instruction, "time_frame": time_frame,
            "intro": instrument.intro, "items": items,
            "other_errors": [m for msgs in extra.values() for m in msgs]}


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


class AmountField(forms.CharField):
    """A dose or MME as typed, parsed by ``outcomes.mme`` (the one parser and rounding rule for
    doses: forms, services and the API all show its message)."""

    def __init__(self, *, parse=mme.parse_mme, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)
        self.parse = parse

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return self.parse(text)
        except mme.InvalidAmount as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


def _dose(value):
    return mme.parse_amount(value, what="The dose")


def _doses_per_day(value):
    return mme.parse_amount(value, what="Doses a day")


DRUG_CHOICES = [("", "—")] + [(code, f"{o.display} ({o.unit})") for code, o in mme.OPIOIDS.items()]


class MedicationLineForm(forms.Form):
    drug = forms.ChoiceField(choices=DRUG_CHOICES, required=False)
    dose = AmountField(parse=_dose, required=False, label="Dose (mg, or mcg/h for a patch)")
    doses_per_day = AmountField(parse=_doses_per_day, required=False, initial=1,
                                label="Doses a day")
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
    total_mme = AmountField(
        required=False, label="Total MME/day",
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
    action = forms.ChoiceField(label="What was done", choices=SafetyAlert.Action.choices,
                               initial=SafetyAlert.Action.CALLED_PATIENT,
                               help_text="'No answer' keeps the alert open and asks for a retry.")
    note = forms.CharField(label="Action taken", widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="What you did, e.g. 'Called the patient; safety plan agreed'.")
