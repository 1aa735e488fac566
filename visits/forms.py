from django import forms
from django.contrib.auth import get_user_model

from ipm import roles
from ipm.validators import validate_care_date
from patients.models import Site
from referrals.models import Service

from .recurrence import MAX_DURATION_MINUTES, MAX_WEEKS

User = get_user_model()
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class UsersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


def _clinicians():
    return (User.objects.filter(is_active=True, groups__name=roles.CLINICIAN)
            .order_by("first_name", "last_name", "username").distinct())


def _staff():
    return (User.objects.filter(is_active=True, groups__name__in=roles.STAFF_ROLES)
            .order_by("first_name", "last_name", "username").distinct())


class DateTimeLocalField(forms.DateTimeField):
    """A `<input type=datetime-local>`, read in the program's time zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)
    input_formats = [DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
    default_validators = [validate_care_date]


class LinkedCliniciansMixin(forms.Form):
    lead_clinician = UserChoiceField(queryset=User.objects.none(), required=False,
                                     label="Lead clinician (billable)")
    facilitators = UsersChoiceField(queryset=User.objects.none(), required=False,
                                    widget=forms.CheckboxSelectMultiple,
                                    label="Facilitators (non-billable)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead_clinician"].queryset = _clinicians()
        self.fields["facilitators"].queryset = _staff()


class WeeklySessionsForm(forms.Form):
    first_start = DateTimeLocalField(label="First session starts")
    weeks = forms.IntegerField(min_value=1, max_value=MAX_WEEKS, initial=6,
                               label="Number of weekly sessions")
    duration_minutes = forms.IntegerField(min_value=1, max_value=MAX_DURATION_MINUTES,
                                          initial=90, label="Duration (minutes)")


class SeriesForm(LinkedCliniciansMixin, WeeklySessionsForm):
    name = forms.CharField(max_length=200, label="Programme name")
    service = forms.ModelChoiceField(queryset=Service.objects.none())
    capacity = forms.IntegerField(min_value=1, max_value=500, initial=10)
    location = forms.CharField(max_length=200, required=False)
    video_link = forms.URLField(required=False, label="Video link",
                                assume_scheme="https")
    # Not required here: left empty, the service puts the series at your one site or asks
    # for a choice (its error, naming `site`, then shows on this field).
    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False,
                                  empty_label="Choose a site", label="Site")

    field_order = ["name", "service", "site", "capacity", "lead_clinician", "facilitators",
                   "location", "video_link", "first_start", "weeks", "duration_minutes"]

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The sites you work at (patients.scoping.sites_of). With only one there is nothing
        # to choose: the field is hidden and holds it.
        sites = sites if sites is not None else Site.objects.none()
        sites = sites.order_by("name", "pk")
        self.fields["site"].queryset = sites
        mine = list(sites[:2])
        if len(mine) <= 1:
            self.fields["site"].widget = forms.HiddenInput()
            if mine and not self.is_bound:
                self.initial.setdefault("site", mine[0].pk)
        # Group-based services first: they are what group programmes are usually for.
        self.fields["service"].queryset = Service.objects.filter(active=True).order_by(
            "-is_group_based", "name")
        group = Service.objects.filter(code="group_programme").first()
        if group and not self.is_bound:
            self.initial.setdefault("service", group.pk)


class SessionForm(LinkedCliniciansMixin):
    starts_at = DateTimeLocalField(label="Starts")
    duration_minutes = forms.IntegerField(min_value=1, max_value=MAX_DURATION_MINUTES,
                                          label="Duration (minutes)")

    field_order = ["starts_at", "duration_minutes", "lead_clinician", "facilitators"]


class CapacityForm(forms.Form):
    capacity = forms.IntegerField(min_value=1, max_value=500)
