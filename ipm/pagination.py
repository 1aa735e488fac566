from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    """Counts at most `cap` rows (`SELECT COUNT(*) FROM (SELECT id ... LIMIT cap + 1)`), so a
    list whose filter cannot use an index still pages in bounded time at program scale.
    `capped` tells the template to show "1000+" rather than an exact total.

    Past the cap the pages go on: a page reads one row more than it shows to know whether
    there is a next one (`has_next`), so the API's `next` link keeps walking a long list
    while its `count` stops at the cap."""

    cap = 1000
    capped = False

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        if hasattr(qs, "capped_count"):  # a list that knows a cheaper way (a search)
            n = qs.capped_count(self.cap + 1)
        else:
            if hasattr(qs, "values"):
                # Only ids, no ordering, no joins for display: the same number, cheaper.
                qs = qs.order_by().values("pk")
            n = qs[: self.cap + 1].count()
        self.capped = n > self.cap
        return min(n, self.cap)

    def validate_number(self, number):
        if self.count < self.cap or not self.capped:
            return super().validate_number(number)
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number

    def page(self, number):
        number = self.validate_number(number)
        if not self.capped:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom:bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        return CappedPage(rows[: self.per_page], number, self,
                          more=len(rows) > self.per_page)


class CappedPage(Page):
    """A page of a capped list: whether there is a next page is read, not counted."""

    def __init__(self, object_list, number, paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self):
        return self.more

    def end_index(self):
        return (self.number - 1) * self.paginator.per_page + len(self.object_list)
