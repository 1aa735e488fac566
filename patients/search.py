"""The patient search (name or MRN prefix, any case) in a form an index serves at any size.

One OR over MRN and name prefixes makes PostgreSQL walk the name index through every
patient; here each way of matching is its own index-ordered branch that stops at the page
being read, and the page is the union of the branches' first rows:

    id IN (SELECT id FROM (<family-name branch> ORDER BY list order LIMIT k) b0
           UNION SELECT id FROM (<given-name branch> ...) b1 UNION ...)
    ORDER BY list order LIMIT page OFFSET ...

``k`` is the end of the slice being read (the page, or the paginator's capped count), taken
from the query when it is compiled, so a page reads a page's worth of rows per branch.

The list order is the name keys ``UPPER(family_name)``, ``UPPER(given_name)`` (compared
byte-wise: ``COLLATE "C"`` on PostgreSQL), then id; the index ``patient_name_key`` holds
exactly that, so a family-name prefix is one ordered range. A given-name prefix is
ordered by family name, which no single range gives: the distinct given names under the
prefix are looked up first (a few index probes) and each is an equality branch on
``patient_given_key`` (given key, family key, id), already in list order. A prefix
covering more than ``MAX_GIVEN_NAMES`` names is common enough that walking the list
order and keeping matches ends quickly.
"""

from __future__ import annotations

from django.db import connections
from django.db.models import BooleanField, CharField, Expression, F, Func, Value

MAX_GIVEN_NAMES = 20


class NameKey(Func):
    """UPPER(column), compared byte-wise (the list order and the search index)."""

    function = "UPPER"

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = super().as_sql(compiler, connection, **extra)
        return f'({sql} COLLATE "C")', params


def name_key(column: str) -> NameKey:
    return NameKey(F(column), output_field=CharField())


LIST_ORDER = (name_key("family_name").asc(), name_key("given_name").asc(), F("pk").asc())


def like_prefix(text: str) -> str:
    """``text`` upper-cased as a LIKE prefix pattern, its wildcards taken literally."""
    escaped = text.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


class StartsWith(Func):
    """``expression LIKE 'PREFIX%'`` with the escape character spelled out (SQLite has
    none by default); ``expression`` is compared as is, so an index on it serves."""

    arg_joiner = " LIKE "
    template = "%(expressions)s ESCAPE '\\'"
    output_field = BooleanField()

    def __init__(self, expression, prefix: str):
        super().__init__(expression, Value(like_prefix(prefix)))

    def as_postgresql(self, compiler, connection, **extra):
        # Backslash is PostgreSQL's default escape; a bare LIKE keeps the planner's
        # prefix-to-range rewrite obvious.
        return super().as_sql(compiler, connection, template="%(expressions)s", **extra)


class InBranches(Expression):
    """``pk IN (the union of the branches' first k ids)``; k is the high mark of the query
    being compiled (None: every match)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, branches, pk=None, count_branches=None):
        super().__init__()
        self.branches = list(branches)
        # For counting, the order does not matter: a branch may be read in its own index's
        # order so it stops after k entries (the MRN prefix: no sort of every match by name).
        self.count_branches = list(count_branches) if count_branches else None
        self.pk = pk if pk is not None else F("pk")

    def get_source_expressions(self):
        return [self.pk]

    def set_source_expressions(self, exprs):
        (self.pk,) = exprs

    def as_sql(self, compiler, connection):
        lhs, lhs_params = compiler.compile(self.pk)
        union, params = self.union_sql(connection, compiler.query.high_mark)
        return f"{lhs} IN ({union})", [*lhs_params, *params]

    def union_sql(self, connection, k: int | None, branches=None):
        parts, params = [], []
        for n, branch in enumerate(branches or self.branches):
            qs = branch[:k] if k is not None else branch
            sql, branch_params = qs.query.get_compiler(connection=connection).as_sql()
            # The ORM's own compiled SQL with its parameters kept apart: nothing user-typed is
            # formatted into the string.
            parts.append(f'SELECT b{n}."id" FROM ({sql}) b{n}')  # nosec B608
            params.extend(branch_params)
        return " UNION ".join(parts), params

    def count(self, using: str, limit: int) -> int:
        """How many rows match, up to ``limit``: the union itself, no join back."""
        connection = connections[using]
        union, params = self.union_sql(connection, limit, self.count_branches)
        with connection.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM ({union} LIMIT %s) n", [*params, limit])  # nosec B608 - compiled by the ORM
            return cur.fetchone()[0]


def given_names_under(prefix: str, using: str = "default") -> list[str] | None:
    """The distinct upper-cased given names starting with ``prefix`` (an index probe each),
    or None when there are more than MAX_GIVEN_NAMES."""
    connection = connections[using]
    key = 'UPPER(given_name) COLLATE "C"' if connection.vendor == "postgresql" else "UPPER(given_name)"
    escape = "" if connection.vendor == "postgresql" else " ESCAPE '\\'"
    pattern = like_prefix(prefix)
    sql = f"""
        WITH RECURSIVE names(k) AS (
            SELECT MIN({key}) FROM patients_patient WHERE {key} LIKE %s{escape}
            UNION ALL
            SELECT (SELECT MIN({key}) FROM patients_patient
                    WHERE {key} > names.k AND {key} LIKE %s{escape})
            FROM names WHERE names.k IS NOT NULL
        )
        SELECT k FROM names WHERE k IS NOT NULL LIMIT %s"""  # nosec B608 - constant SQL
    with connection.cursor() as cur:
        cur.execute(sql, [pattern, pattern, MAX_GIVEN_NAMES + 1])
        found = [row[0] for row in cur.fetchall()]
    return None if len(found) > MAX_GIVEN_NAMES else found


def search(rows, q: str):
    """``rows`` (a filtered Patient queryset) narrowed to those whose MRN, given name or
    family name starts with ``q`` or one of its words (any case), in list order."""
    terms = q.split()
    branch_base = rows.values("id").order_by(*LIST_ORDER)
    by_mrn = StartsWith(name_key("mrn"), q)
    branches = [branch_base.filter(by_mrn)]
    for term in dict.fromkeys(terms):
        branches.append(branch_base.filter(StartsWith(name_key("family_name"), term)))
        names = given_names_under(term, rows.db)
        if names is None:
            branches.append(branch_base.filter(StartsWith(name_key("given_name"), term)))
        else:
            branches += [branch_base.filter(_equals(name_key("given_name"), name))
                         for name in names]
    # Counted in MRN-key order (patient_mrn_key), the MRN branch stops at the cap instead of
    # reading every match to sort it by name.
    mrn_in_key_order = rows.values("id").filter(by_mrn).order_by(name_key("mrn").asc())
    found = InBranches(branches, count_branches=[mrn_in_key_order, *branches[1:]])
    return rows.filter(found).order_by(*LIST_ORDER).counted_by(found)


class _Equals(Func):
    arg_joiner = " = "
    template = "%(expressions)s"
    output_field = BooleanField()


def _equals(expression, value: str):
    return _Equals(expression, Value(value))

