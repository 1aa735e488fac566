from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    """Counts at most `cap` rows (`SELECT COUNT(*) FROM (... LIMIT cap + 1)`), so a list
    whose filter cannot use an index still pages in bounded time at program scale.
    `capped` tells the template to show "1000+" rather than an exact total."""

    cap = 1000
    capped = False

    @cached_property
    def count(self) -> int:
        n = self.object_list[: self.cap + 1].count()
        self.capped = n > self.cap
        return min(n, self.cap)
