"""Small SQL helpers the metric definitions share: elapsed days between two timestamps and a
median, each compiled for PostgreSQL (the production database) and SQLite (the embedded
default). Everything aggregates in the database; nothing loops over patients in Python."""

from django.db import connections
from django.db.models import Aggregate, FloatField, Func, QuerySet


class DaysBetween(Func):
    """`end - start` in days, as a float (fractions of a day kept).

    Both sides may be dates or timestamps. PostgreSQL: epoch seconds of the interval / 86400;
    SQLite: the difference of Julian day numbers (Django stores UTC text there).
    """

    arity = 2
    output_field = FloatField()

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def _parts(self, compiler, connection):
        end_sql, end_params = compiler.compile(self.source_expressions[0])
        start_sql, start_params = compiler.compile(self.source_expressions[1])
        return end_sql, start_sql, (*end_params, *start_params)

    def as_postgresql(self, compiler, connection, **extra_context):
        end_sql, start_sql, params = self._parts(compiler, connection)
        sql = (f"(CAST(EXTRACT(EPOCH FROM (({end_sql})::timestamptz - ({start_sql})::timestamptz))"
               f" AS double precision) / 86400.0)")
        return sql, params

    def as_sqlite(self, compiler, connection, **extra_context):
        end_sql, start_sql, params = self._parts(compiler, connection)
        return f"(julianday({end_sql}) - julianday({start_sql}))", params

    def as_sql(self, compiler, connection, **extra_context):  # other backends: as SQLite
        return self.as_sqlite(compiler, connection, **extra_context)


class Median(Aggregate):
    """PostgreSQL's `percentile_cont(0.5) WITHIN GROUP (ORDER BY x)`: the middle value, or
    the mean of the two middle values for an even count."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()
    allow_distinct = False


def median(queryset: QuerySet, expression) -> float | None:
    """The median of `expression` over `queryset` (NULLs ignored), or None when empty.

    PostgreSQL: the `Median` aggregate. Elsewhere (SQLite): still one SQL query, ranking the
    values with window functions and averaging the one or two middle rows.
    """
    if connections[queryset.db].vendor == "postgresql":
        return queryset.aggregate(_median=Median(expression))["_median"]
    return _median_window(queryset, expression)


def _median_window(queryset: QuerySet, expression) -> float | None:
    """The portable form: rank the values with window functions, average the middle rows."""
    connection = connections[queryset.db]
    inner = (queryset.order_by().annotate(_median_value=expression)
             .filter(_median_value__isnull=False).values("_median_value"))
    sql, params = inner.query.sql_with_params()
    wrapped = (
        "SELECT AVG(v) FROM (SELECT _m._median_value AS v, "  # nosec B608 - wraps SQL compiled by the ORM; values are params
        "ROW_NUMBER() OVER (ORDER BY _m._median_value) AS rn, COUNT(*) OVER () AS n "
        f"FROM ({sql}) AS _m) AS _ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2)"
    )
    with connection.cursor() as cursor:
        cursor.execute(wrapped, params)
        row = cursor.fetchone()
    return None if row is None or row[0] is None else float(row[0])
