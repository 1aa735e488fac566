"""Page forms: the booking form, status and note forms, weekly hours and leave."""

from django import forms
from django.contrib.auth import get_user_model

from patients.models import Patient
from referrals.models import Referral, Service

from . import rules
from .availability import bookable_clinicians
from .models import Appointment

User = get_user_model()


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class BookingForm(forms.Form):
    patient = forms.ModelChoiceField(queryset=Patient.objects.none(),
                                     widget=forms.NumberInput, label="Patient id",
                                     help_text="Filled in when you book from a referral.")
    referral = forms.ModelChoiceField(queryset=Referral.objects.none(), required=False,
                                      widget=forms.HiddenInput)
    clinician = StaffChoiceField(queryset=User.objects.none())
    service = forms.ModelChoiceField(queryset=Service.objects.filter(active=True))
    site = forms.ModelChoiceField(queryset=None, required=False, empty_label="My site")
    starts_at = forms.DateTimeField(label="Starts at",
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                               format="%Y-%m-%dT%H:%M"))
    duration_minutes = forms.IntegerField(label="Length (minutes)", initial=45,
                                          min_value=rules.MIN_DURATION,
                                          max_value=rules.MAX_DURATION)
    mode = forms.ChoiceField(choices=Appointment.Mode.choices, initial="in_person")
    override = forms.BooleanField(required=False,
                                  label="Book outside the clinician's availability")
    reason = forms.CharField(required=False, label="Reason for the override")

    def __init__(self, *args, patients=None, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = patients
        self.fields["referral"].queryset = Referral.objects.filter(patient__in=patients)
        self.fields["clinician"].queryset = bookable_clinicians()
        self.fields["site"].queryset = sites


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=[c for c in Appointment.Status.choices
                                        if c[0] != rules.BOOKED])
    reason = forms.CharField(required=False)


class NoteForm(forms.Form):
    subjective = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    objective = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    assessment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    plan = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    minutes = forms.IntegerField(required=False, min_value=0, max_value=600,
                                 label="Minutes spent")


class AddendumForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Addendum")


class WeeklyHoursForm(forms.Form):
    """One window per weekday (blank: not working that day)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for i, (_n, name) in enumerate(rules.WEEKDAY_CHOICES):
            self.fields[f"start_{i}"] = forms.TimeField(required=False, label=f"{name} from",
                                                        widget=forms.TimeInput(
                                                            attrs={"type": "time"},
                                                            format="%H:%M"))
            self.fields[f"end_{i}"] = forms.TimeField(required=False, label=f"{name} to",
                                                      widget=forms.TimeInput(
                                                          attrs={"type": "time"},
                                                          format="%H:%M"))

    def windows(self, service=None) -> list[tuple]:
        out = []
        for i in range(7):
            start, end = self.cleaned_data.get(f"start_{i}"), self.cleaned_data.get(f"end_{i}")
            if start and end:
                out.append((i, start, end, service))
            elif start or end:
                self.add_error(f"end_{i}" if start else f"start_{i}", "Give both times.")
        return out


class LeaveForm(forms.Form):
    starts_at = forms.DateTimeField(label="Away from", widget=forms.DateTimeInput(
        attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    ends_at = forms.DateTimeField(label="Back at", widget=forms.DateTimeInput(
        attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    reason = forms.CharField(required=False, initial="Leave", max_length=200)
