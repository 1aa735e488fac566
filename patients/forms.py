import zoneinfo

from django import forms
from django.contrib.auth import get_user_model

from ipm.roles import CLINICIAN, COORDINATOR

from . import pathways
from .flags import flag_choices
from .models import Pathway, Patient

COMMON_TIMEZONES = sorted(z for z in zoneinfo.available_timezones()
                          if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/")))


class DemographicsForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=[(z, z) for z in COMMON_TIMEZONES])

    class Meta:
        model = Patient
        fields = ["mrn", "given_name", "family_name", "birth_date", "sex", "email", "phone",
                  "preferred_channel", "consent_to_contact", "timezone"]
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"}),
                   "phone": forms.TextInput(attrs={"placeholder": "+447700900123",
                                                   "inputmode": "tel"})}
        help_texts = {"phone": "E.164: + country code and number, no spaces.",
                      "consent_to_contact": "The patient agrees to reminders and questionnaire links."}

    def __init__(self, *args, program=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.program = program
        if not self.initial.get("timezone") and program is not None:
            self.initial["timezone"] = program.time_zone

    def validate_unique(self):
        """MRN is unique per program; the program is not a form field."""
        mrn = self.cleaned_data.get("mrn")
        if mrn and self.program is not None:
            qs = Patient.objects.filter(program=self.program, mrn=mrn)
            if self.instance.pk:
                qs = qs.exclude(pk=self.instance.pk)
            if qs.exists():
                self.add_error("mrn", f"A patient with MRN {mrn} already exists in this program.")


YES_NO = [("yes", "Yes"), ("no", "No")]


class RedFlagsForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key in pathways.RED_FLAG_KEYS:
            self.fields[key] = forms.ChoiceField(
                label=pathways.RED_FLAG_LABELS[key], choices=YES_NO, widget=forms.RadioSelect,
                error_messages={"required": "Answer yes or no."})

    def as_red_flags(self) -> dict[str, bool]:
        return {k: self.cleaned_data[k] == "yes" for k in pathways.RED_FLAG_KEYS}


class PathwayForm(forms.Form):
    pathway = forms.ChoiceField(choices=Pathway.choices,
                                widget=forms.Select(attrs={"class": "form-select"}))
    reason = forms.CharField(required=False,
                             widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
                             help_text="Required when you choose a pathway other than the suggested one.")


PATHWAY_KEPT = "pathway_form_kept"


def pathway_form_keep(session, patient_id: int, data, errors: dict, message: str) -> None:
    """A refused pathway decision: keep what was chosen (and typed) with the error for the
    page the user goes back to, so it is not reset to the suggestion."""
    session[PATHWAY_KEPT] = {"patient": patient_id, "pathway": data.get("pathway", ""),
                             "reason": data.get("reason", ""), "errors": errors,
                             "message": message}


def pathway_form_for(session, patient_id: int, initial_pathway: str) -> "PathwayForm":
    """The pathway form of a patient's page: the refused choice with its errors when the user
    comes back from one, else the current (or suggested) pathway."""
    kept = session.get(PATHWAY_KEPT)
    if not kept or kept.get("patient") != patient_id:
        return PathwayForm(initial={"pathway": initial_pathway})
    session.pop(PATHWAY_KEPT, None)
    form = PathwayForm({"pathway": kept["pathway"], "reason": kept["reason"]})
    form.is_valid()
    for field, problems in (kept.get("errors") or {}).items():
        form.add_error(field if field in form.fields else None, problems)
    if not form.errors:
        form.add_error(None, kept.get("message") or "The pathway was not saved.")
    return form


class _Person(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return user.get_full_name() or user.username


class CareTeamForm(forms.Form):
    """Site, responsible clinician and care manager of one patient (docs/product.md §6); the choices
    are the program's sites and the active clinicians / coordinators of the patient's site.
    patients.services.patient_update checks the rules."""

    site = forms.ModelChoiceField(queryset=None, widget=forms.Select(attrs={"class": "form-select"}))
    clinician = _Person(queryset=None, widget=forms.Select(attrs={"class": "form-select"}),
                        label="Responsible clinician")
    care_manager = _Person(queryset=None, required=False, empty_label="— none —",
                           widget=forms.Select(attrs={"class": "form-select"}))

    def __init__(self, data=None, *, patient: Patient):
        super().__init__(data, initial={"site": patient.site_id, "clinician": patient.clinician_id,
                                        "care_manager": patient.care_manager_id})
        people = get_user_model().objects.filter(is_active=True).order_by("last_name", "username")
        self.fields["site"].queryset = patient.program.sites.all()
        self.fields["clinician"].queryset = people.filter(groups__name=CLINICIAN).distinct()
        self.fields["care_manager"].queryset = people.filter(
            groups__name__in=(CLINICIAN, COORDINATOR)).distinct()


class PatientSearchForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("risk_group", "pathway", "flag"):
            self.fields[name].widget.attrs["class"] = "form-select"

    q = forms.CharField(required=False, label="Name or MRN")
    risk_group = forms.ChoiceField(required=False, choices=[("", "Any risk"), ("low", "Low"),
                                                            ("medium", "Medium"), ("high", "High")])
    pathway = forms.ChoiceField(required=False, choices=[("", "Any pathway"), *Pathway.choices])
    flag = forms.ChoiceField(required=False, choices=[("", "Any flag"), *flag_choices()])
