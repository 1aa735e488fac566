"""Reads of the outbox for the coordinator page and the API."""

from django.db.models import Count, Q, QuerySet

from .models import Reminder


def reminder_list(*, status: str = "", kind: str = "", reason: str = "",
                  patient: str | int | None = None) -> QuerySet[Reminder]:
    """Outbox rows, newest schedule first, filtered. `patient` is a patient id, or (on the
    page) an MRN. Patient and recipient come in the same query."""
    qs = Reminder.objects.select_related("patient", "recipient_user").order_by(
        "-scheduled_for", "-pk")
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if reason:
        qs = qs.filter(reason=reason)
    if patient not in (None, ""):
        text = str(patient).strip()
        cond = Q(patient__mrn=text)
        if text.isdigit():
            cond |= Q(patient_id=int(text))
        qs = qs.filter(cond)
    return qs


def reminder_counts_by_status(**filters) -> dict[str, int]:
    """Rows per status under the other filters (kind, reason, patient), in one query."""
    filters.pop("status", None)
    rows = (reminder_list(**filters).select_related(None).order_by()
            .values("status").annotate(n=Count("id")))
    counts = {s: 0 for s in Reminder.Status.values}
    counts.update({r["status"]: r["n"] for r in rows})
    return counts
