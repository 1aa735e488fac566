"""Formatting of metric numbers for the dashboard: units, "—" for no data, signed changes."""

from django import template

from metrics.definitions import METRICS

register = template.Library()

_SUFFIX = {"percent": " %", "days": " d", "hours": " h", "mme": " MME", "minutes": " min"}
_CHANGE_SUFFIX = {"percent": " pts", "days": " d", "hours": " h", "mme": " MME",
                  "minutes": " min"}


@register.filter
def metric_value(value, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "count" or isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:.1f}{_SUFFIX.get(unit, '')}"


@register.filter
def metric_change(value, unit: str = "") -> str:
    if value is None:
        return "—"
    if value == 0:
        return "no change"
    number = f"{value:+,}" if unit == "count" else f"{value:+.1f}"
    return f"{number}{_CHANGE_SUFFIX.get(unit, '')}"


@register.filter
def footnote(key: str) -> str:
    """The footnote number of a metric: its place in the definitions list."""
    try:
        return str(list(METRICS).index(key) + 1)
    except ValueError:
        return ""
