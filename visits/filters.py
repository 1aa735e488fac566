"""Query parameters of the group series list API (ipm.filters explains the strictness)."""

from ipm.filters import FilterSet, IdFilter

from .models import GroupSeries


class SeriesFilter(FilterSet):
    """`?site=`: the series of one site (of yours: the list is scoped first), as the
    appointments list filters."""

    site = IdFilter(field_name="site_id", help_text="Site id.")

    class Meta:
        model = GroupSeries
        fields: list[str] = []
