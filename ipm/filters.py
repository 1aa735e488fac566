"""Query parameters of API lists: django-filter FilterSets, strict about what they are given.

Each list declares a FilterSet (`filterset_class`), so the parameters are validated in one
place, documented in the OpenAPI schema (drf-spectacular's django-filter extension) and
refused with a 400 naming the parameter when a value is not one the schema allows:

- a value outside a choice (`?flag=zzz`) or not a number (`?patient=x`);
- an empty value for anything but free text (`?status=`, `?patient=`): leave the parameter
  out to mean "no filter";
- a boolean other than true/false/1/0.

The selectors still own the queries: a FilterSet whose parameters combine (the referral
queue's `status=open`, `assignee=me`) overrides `filter_queryset` to call its selector with
the cleaned values.
"""

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

EMPTY_MESSAGE = "Give a value, or leave the parameter out."


class StrictFilterForm(forms.Form):
    """The FilterSet's form: a parameter that is present must not be empty, except free
    text (a search box sends `q=` and means everyone)."""

    def clean(self):
        cleaned = super().clean()
        for name, field in self.fields.items():
            if name not in self.data or (isinstance(field, forms.CharField)
                                         and not getattr(field, "refuse_empty", False)):
                continue
            values = (self.data.getlist(name) if hasattr(self.data, "getlist")
                      else [self.data.get(name)])
            if all(value in ("", None) for value in values) and name not in self.errors:
                self.add_error(name, EMPTY_MESSAGE)
        return cleaned


class FilterSet(django_filters.FilterSet):
    def get_form_class(self):
        fields = [(name, filter_.field) for name, filter_ in self.filters.items()]
        return type(f"{self.__class__.__name__}Form", (StrictFilterForm,), dict(fields))


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0); anything else is an error instead of Django's silent None."""

    widget = forms.TextInput  # the raw value, not NullBooleanSelect's guess
    TRUE, FALSE = ("true", "True", "1"), ("false", "False", "0")

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in self.TRUE or value is True:
            return True
        if value in self.FALSE or value is False:
            return False
        raise forms.ValidationError("Use true or false.", code="invalid")

    def validate(self, value):
        pass


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


@extend_schema_field({"type": "integer", "minimum": 1})
class IdFilter(django_filters.NumberFilter):
    """A positive whole number (an id)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        super().__init__(*args, **kwargs)
