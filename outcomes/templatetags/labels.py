"""Words, not codes: the one place templates turn a code into what a person reads.

Loaded as a template builtin (settings TEMPLATES), so every template can write
`{{ code|instrument_short }}`, `{{ code|instrument_label }}`, `{{ flag|flag_label }}`,
`{{ flag|flag_tone }}`, `{{ risk|risk_badge }}` and `{% time_point p %}` ("GAD-7 · week 52 · overdue"). Instrument
names come from each instrument's SPEC (outcomes/instruments/<code>.py), flag words from
patients/flags.py.
"""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

from outcomes import instruments
from patients import flags

register = template.Library()


def _spec(code):
    try:
        return instruments.get(str(code))
    except (instruments.UnknownInstrument, KeyError):
        return None


@register.filter
def instrument_short(code) -> str:
    """"PHQ-9" for "phq9"."""
    spec = _spec(code)
    return spec.short_label if spec else str(code)


@register.filter
def instrument_label(code) -> str:
    """"PHQ-9: depression" for "phq9"."""
    spec = _spec(code)
    return spec.label if spec else str(code)


@register.filter
def flag_label(code) -> str:
    return flags.flag_label(code)


@register.filter
def flag_tone(code) -> str:
    return flags.flag_tone(code)


@register.filter
def flag_meaning(code) -> str:
    flag = flags.FLAGS.get(code)
    return flag.meaning if flag else ""


@register.filter
def risk_badge(risk) -> str:
    """The STarT Back risk group as a badge ("Low risk"; "Not stratified" when empty). A
    filter rather than an included template: the patient list renders one per row."""
    if not risk:
        return mark_safe('<span class="badge bg-secondary">Not stratified</span>')  # nosec B308 B703 - a constant
    return format_html('<span class="badge badge-risk-{}">{} risk</span>', risk,
                       capfirst(str(risk)))


@register.filter
def time_point(point) -> str:
    """A schedule time point in words: "GAD-7 · week 52 · overdue"."""
    return f"{instrument_short(point.instrument)} · {point.label.lower()} · {point.status}"
