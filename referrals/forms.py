"""Page forms. They parse and validate shape only; the rules live in services."""

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from ipm.validators import validate_care_date
from patients.models import Patient

from . import selectors
from . import transitions as t
from .models import MdtAgendaItem, MdtMeeting, Referral, Service

STATUS_FILTERS = [
    (selectors.WAITING, "Awaiting first visit"),
    (selectors.OPEN, "All open"),
    *[(s, label) for s, label in Referral.Status.choices],
    ("all", "All, including closed"),
]
ORDERING_CHOICES = [
    ("", "Urgent first, longest waiting"),
    ("-days_waiting", "Longest waiting"),
    ("days_waiting", "Shortest waiting"),
    ("-referred_at", "Newest referral"),
    ("referred_at", "Oldest referral"),
]


CHECK = {"class": "form-check-input"}


def user_label(user) -> str:
    return user.get_full_name() or user.username


class QueueFilterForm(forms.Form):
    """The queue's filters (GET). Choices come from lists loaded once per page."""

    status = forms.ChoiceField(choices=STATUS_FILTERS, required=False)
    service = forms.ChoiceField(required=False)
    priority = forms.ChoiceField(choices=[("", "Any priority"), *Referral.Priority.choices],
                                 required=False)
    assignee = forms.ChoiceField(required=False)
    breached = forms.BooleanField(required=False, label="Over SLA only")
    ordering = forms.ChoiceField(choices=ORDERING_CHOICES, required=False, label="Sort")

    def __init__(self, data=None, *, services=(), assignees=(), **kwargs):
        super().__init__(data, **kwargs)
        self.fields["service"].choices = [("", "Any service")] + [
            (s.code, s.name) for s in services]
        self.fields["assignee"].choices = [("", "Anyone"), ("me", "Me"),
                                           ("none", "Unassigned")] + [
            (str(u.pk), user_label(u)) for u in assignees]

    def filters(self) -> dict:
        """Selector keyword arguments; invalid values fall back to the defaults."""
        data = self.cleaned_data if self.is_valid() else {}
        status = data.get("status") or selectors.WAITING
        return {
            "status": "" if status == "all" else status,
            "service": data.get("service") or None,
            "priority": data.get("priority") or None,
            "assignee": data.get("assignee") or None,
            "breached": True if data.get("breached") else None,
            "ordering": data.get("ordering") or "",
        }


class ReferralCreateForm(forms.Form):
    patient = forms.IntegerField(label="Patient id", min_value=1)
    service = forms.ModelChoiceField(queryset=Service.objects.filter(active=True),
                                     to_field_name="code", empty_label="Choose a service")
    priority = forms.ChoiceField(choices=Referral.Priority.choices, initial="routine",
                                 widget=forms.RadioSelect(attrs=CHECK))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    needs_mdt = forms.BooleanField(required=False, label="Ask for MDT review")

    def clean_patient(self):
        pk = self.cleaned_data["patient"]
        try:
            return Patient.objects.get(pk=pk)
        except Patient.DoesNotExist:
            raise forms.ValidationError(f"No patient with id {pk}.")


class MdtMeetingForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}),
                           validators=[validate_care_date])
    time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    duration_minutes = forms.IntegerField(min_value=15, max_value=480, initial=60,
                                          label="Duration (minutes)")
    mode = forms.ChoiceField(choices=MdtMeeting.Mode.choices, initial=MdtMeeting.Mode.IN_PERSON,
                             widget=forms.RadioSelect(attrs=CHECK))
    location = forms.CharField(required=False, max_length=200,
                               help_text="Room, for an in-person meeting.")
    video_link = forms.URLField(required=False, assume_scheme="https",
                                  help_text="For a virtual meeting.")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        nxt = timezone.localtime() + timedelta(days=7)
        self.fields["date"].initial = nxt.date()
        self.fields["time"].initial = "13:00"

    def scheduled_for(self):
        d = self.cleaned_data
        return timezone.make_aware(datetime.combine(d["date"], d["time"]))


class MdtAttendeeForm(forms.Form):
    discipline = forms.CharField(max_length=80)
    user = forms.ChoiceField(required=False, label="Staff member")
    name = forms.CharField(required=False, max_length=150, label="Or name (guest)")

    def __init__(self, *args, staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [("", "—")] + [(str(u.pk), user_label(u)) for u in staff]


class MdtDecisionForm(forms.Form):
    """One per agenda item (prefixed). Choices are passed in, loaded once per page."""

    decision = forms.ChoiceField(
        choices=[c for c in MdtAgendaItem.Decision.choices if c[0]],
        widget=forms.RadioSelect(attrs=CHECK))
    services = forms.MultipleChoiceField(required=False,
                                         widget=forms.CheckboxSelectMultiple(attrs=CHECK))
    clinicians = forms.MultipleChoiceField(required=False,
                                           widget=forms.CheckboxSelectMultiple(attrs=CHECK))
    advice = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             label="Advice for the GP")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                           label="Note")

    def __init__(self, *args, services=(), clinicians=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].choices = [(s.code, s.name) for s in services]
        self.fields["clinicians"].choices = [(str(u.pk), user_label(u)) for u in clinicians]


TRANSITION_CHOICES = [(s, t.ACTION_LABELS.get(s, s)) for s in t.STATES if s != t.NEW]
