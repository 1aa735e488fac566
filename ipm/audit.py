"""The audit trail, built once for every app (docs/product.md §5: every read and change of patient
data, who, what, when, from where).

- Services call `audit_record(actor=..., action=..., obj=...)` for every change.
- Views and APIs that read patient data use `AuditedReadMixin` (Django CBVs and DRF generic
  views alike): it records the object read or the page of objects listed.
- `AuditContextMiddleware` remembers the current request so the client address is known
  without passing the request through every service.
"""

import contextvars
import hashlib
import json

from django.conf import settings
from django.db import transaction

from .models import AuditEvent

_current_request: contextvars.ContextVar = contextvars.ContextVar("ipm_request", default=None)


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def client_ip(request) -> str | None:
    if request is None:
        return None
    if settings.IPM_USE_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR") or None


def patient_id_of(obj) -> int | None:
    """The patient a model instance belongs to: itself, or its `patient_id`."""
    if obj is None:
        return None
    if obj._meta.label_lower == "patients.patient":
        return obj.pk
    return getattr(obj, "patient_id", None)


def audit_record(*, actor=None, action: str, obj=None, object_type: str = "",
                 object_id="", patient_id=None, detail: dict | None = None,
                 request=None) -> AuditEvent:
    """Write one audit row. The actor defaults to the request's user; the address to the
    request's client address."""
    request = request or _current_request.get()
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if getattr(user, "is_authenticated", False) else None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        if patient_id is None:
            patient_id = patient_id_of(obj)
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_username=getattr(actor, "username", "") or "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        patient_id=patient_id,
        ip=client_ip(request),
        path=(request.path[:500] if request is not None else ""),
        detail=detail or {},
    )


def audit_list(*, objects, request=None, actor=None, object_type: str = "") -> None:
    """One row for a page of patient data: which patients were shown."""
    objects = list(objects)
    if not objects:
        return
    ids = sorted({pid for pid in (patient_id_of(o) for o in objects) if pid is not None})
    audit_record(
        actor=actor, request=request, action="list",
        object_type=object_type or objects[0]._meta.label_lower,
        patient_id=ids[0] if len(ids) == 1 else None,
        detail={"patient_ids": ids},
    )


class AuditedReadMixin:
    """Mix into a DetailView/ListView or a DRF generic view/viewset to audit reads.

    Detail: `get_object()` records a "read". Lists: the page shown records a "list".
    """

    audit_object_type = ""

    def get_object(self, *args, **kwargs):
        obj = super().get_object(*args, **kwargs)
        if getattr(self.request, "method", "GET") in ("GET", "HEAD"):
            audit_record(request=self.request, actor=self.request.user, action="read",
                         obj=obj, object_type=self.audit_object_type)
        return obj

    def paginate_queryset(self, queryset, *args, **kwargs):
        page = super().paginate_queryset(queryset, *args, **kwargs)
        # Django ListView returns a tuple (paginator, page, object_list, is_paginated).
        shown = page[2] if isinstance(page, tuple) else page
        if shown is not None:
            audit_list(objects=shown, request=self.request, actor=self.request.user,
                       object_type=self.audit_object_type)
        return page


# --- Tamper evidence ----------------------------------------------------------------------

def _row_digest(prev: str, ev: AuditEvent) -> str:
    payload = json.dumps(
        [prev, ev.pk, ev.at.isoformat(), ev.actor_id, ev.actor_username, ev.action,
         ev.object_type, ev.object_id, ev.patient_id, ev.ip, ev.path, ev.detail],
        sort_keys=True, default=str, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def seal_chain(batch_size: int = 5000) -> int:
    """Chain unsealed rows in id order: hash = sha256(previous hash + row). Run by one beat
    task at a time (row lock on the last sealed row keeps two sealers from interleaving).
    Only the hash column is written, in one statement batch; the ORM's update is refused
    on audit rows, so this is the one place that writes to them after insert."""
    from django.db import connection

    with transaction.atomic():
        last = (AuditEvent.objects.select_for_update().exclude(hash="").order_by("-id").first())
        prev = last.hash if last else ""
        after = last.pk if last else 0
        rows = list(AuditEvent.objects.filter(hash="", id__gt=after).order_by("id")[:batch_size])
        sealed = []
        for ev in rows:
            prev = _row_digest(prev, ev)
            sealed.append((prev, ev.pk))
        if sealed:
            with connection.cursor() as cursor:
                cursor.executemany("UPDATE ipm_auditevent SET hash = %s WHERE id = %s", sealed)
    return len(sealed)


def verify_chain() -> tuple[bool, int | None, int]:
    """(ok, first bad row id or None, rows checked)."""
    prev = ""
    checked = 0
    for ev in AuditEvent.objects.exclude(hash="").order_by("id").iterator(chunk_size=2000):
        expected = _row_digest(prev, ev)
        if ev.hash != expected:
            return False, ev.pk, checked
        prev = ev.hash
        checked += 1
    return True, None, checked
