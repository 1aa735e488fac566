"""The database rule "a clinician is never double-booked", as a PostgreSQL exclusion
constraint that stays out of the way on SQLite (the `make run` default).

On PostgreSQL the constraint decides races: two coordinators booking the same slot at the
same moment both pass the service's overlap check, both insert, and the second insert waits
for the first to commit and then fails with an exclusion violation (an IntegrityError, which
the service turns into 409). SQLite has no exclusion constraints; there the service's
overlap check runs inside a write transaction, and the embedded settings open every
transaction IMMEDIATE (one writer at a time), so the check and the insert cannot interleave.
"""

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField
from django.db.models import Func


class TsTzRange(Func):
    """tstzrange(start, end, bounds): `[)` by default, so back-to-back ranges do not overlap."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class PostgresExclusionConstraint(ExclusionConstraint):
    """An ExclusionConstraint that emits no SQL (and validates nothing) on other databases."""

    @staticmethod
    def _postgres(schema_editor) -> bool:
        return schema_editor.connection.vendor == "postgresql"

    def constraint_sql(self, model, schema_editor):
        return super().constraint_sql(model, schema_editor) if self._postgres(schema_editor) \
            else None

    def create_sql(self, model, schema_editor):
        return super().create_sql(model, schema_editor) if self._postgres(schema_editor) \
            else None

    def remove_sql(self, model, schema_editor):
        return super().remove_sql(model, schema_editor) if self._postgres(schema_editor) \
            else None

    def validate(self, model, instance, exclude=None, using="default"):
        from django.db import connections

        if connections[using].vendor == "postgresql":
            super().validate(model, instance, exclude=exclude, using=using)
