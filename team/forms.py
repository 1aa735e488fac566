"""Forms of the team pages. They only parse; the services validate the rules."""

from django import forms
from django.contrib.auth import get_user_model

from ipm import roles
from patients.models import Program, Site
from patients.program import WEEKDAYS

from . import selectors

User = get_user_model()
DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                "Saturday", "Sunday"), strict=True))


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return user.get_full_name() or user.username


class ProgramForm(forms.Form):
    name = forms.CharField(max_length=200)
    time_zone = forms.CharField(max_length=64, help_text="IANA time zone, e.g. Europe/London.")
    clinical_lead = PersonChoiceField(queryset=User.objects.none(), required=False,
                                      empty_label="— none —")
    deputy_lead = PersonChoiceField(queryset=User.objects.none(), required=False,
                                    empty_label="— none —")
    escalation_mode = forms.ChoiceField(choices=Program.EscalationMode.choices)
    escalation_hours = forms.IntegerField(min_value=1, max_value=72)
    holiday_country = forms.CharField(max_length=2, required=False,
                                      help_text="ISO country code, e.g. GB, US.")
    holiday_region = forms.CharField(max_length=10, required=False,
                                     help_text="Subdivision, e.g. ENG, SCT, NY (optional).")
    crisis_message = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False,
                                     help_text="Leave blank for the default of the country.")

    def __init__(self, *args, program: Program, **kwargs):
        initial = {f: getattr(program, f) for f in (
            "name", "time_zone", "escalation_mode", "escalation_hours", "holiday_country",
            "holiday_region", "crisis_message")}
        initial |= {"clinical_lead": program.clinical_lead_id, "deputy_lead": program.deputy_lead_id}
        hours = program.working_hours or {}
        for day in WEEKDAYS:
            span = hours.get(day) or ["", ""]
            initial[f"{day}_open"], initial[f"{day}_close"] = span[0], span[1]
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["clinical_lead"].queryset = selectors.clinicians()
        self.fields["deputy_lead"].queryset = selectors.clinicians()
        for day in WEEKDAYS:
            for end in ("open", "close"):
                self.fields[f"{day}_{end}"] = forms.CharField(
                    required=False, label=f"{DAY_NAMES[day]} {'opens' if end == 'open' else 'closes'}",
                    widget=forms.TimeInput(attrs={"type": "time", "class": "form-control"}))

    def day_rows(self):
        return [(DAY_NAMES[d], self[f"{d}_open"], self[f"{d}_close"]) for d in WEEKDAYS]

    def settings(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if "_open" not in k and "_close" not in k}
        data["working_hours"] = {
            d: ([self.cleaned_data[f"{d}_open"], self.cleaned_data[f"{d}_close"]]
                if self.cleaned_data[f"{d}_open"] or self.cleaned_data[f"{d}_close"] else None)
            for d in WEEKDAYS}
        return data


class SiteForm(forms.Form):
    name = forms.CharField(max_length=200)
    code = forms.SlugField(max_length=50, help_text="Short and unique, e.g. north.")
    time_zone = forms.CharField(max_length=64, required=False,
                                help_text="Blank: the program's time zone.")


class StaffForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    phone = forms.CharField(max_length=32, required=False, help_text="E.164, e.g. +447700900123.")
    roles = forms.MultipleChoiceField(choices=[(r, r) for r in roles.ROLES],
                                      widget=forms.CheckboxSelectMultiple)
    sites = forms.ModelMultipleChoiceField(queryset=Site.objects.none(), required=False,
                                           widget=forms.CheckboxSelectMultiple)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sites"].queryset = Site.objects.filter(program=Program.default())
        if editing:
            self.fields["username"].disabled = True
        else:
            del self.fields["is_active"]


class ReassignForm(forms.Form):
    from_user = PersonChoiceField(queryset=User.objects.all(), label="Move the caseload of")
    to_user = PersonChoiceField(queryset=User.objects.none(), label="Give it to")
    clinician = forms.BooleanField(required=False, initial=True,
                                   label="as responsible clinician")
    care_manager = forms.BooleanField(required=False, initial=True, label="as care manager")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = selectors.people_for(roles.CLINICIAN, roles.COORDINATOR)

