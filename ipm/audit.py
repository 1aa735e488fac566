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
import hmac
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import AuditEvent
from .net import client_address

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
    """The client address (ipm.net: only configured proxies are trusted)."""
    return client_address(request)


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
#
# Each row is sealed once: `seal_seq` (its position, in the order rows are sealed) and
# `hash` = HMAC-SHA256(AUDIT_HMAC_KEY, previous hash + seal_seq + row). The key is not in the
# database, so whoever can write the table cannot re-hash an edited chain. After each seal
# the head (seal_seq, hash) is logged and appended to AUDIT_CHECKPOINT_FILE, outside the
# database: removing the newest rows (or truncating the table) leaves the chain shorter than
# a checkpoint. PostgreSQL itself refuses any other UPDATE and every DELETE (trigger in
# migration 0003).

_SEAL_LOCK_KEY = 0x1A0D17  # pg_advisory_xact_lock key: one sealer at a time
_CHECKPOINT_RE = re.compile(r"seq=(\d+)\s+hash=([0-9a-f]{64})|^\s*(\d+):([0-9a-f]{64})\s*$")

logger = logging.getLogger("ipm.audit")


def _row_digest(prev: str, seq: int, ev: AuditEvent, key: bytes) -> str:
    payload = json.dumps(
        [prev, seq, ev.pk, ev.at.isoformat(), ev.actor_id, ev.actor_username, ev.action,
         ev.object_type, ev.object_id, ev.patient_id, ev.ip, ev.path, ev.detail],
        sort_keys=True, default=str, separators=(",", ":"),
    )
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def _key() -> bytes:
    return settings.AUDIT_HMAC_KEY.encode()


def _head() -> tuple[int, str]:
    last = AuditEvent.objects.filter(seal_seq__isnull=False).order_by("-seal_seq").first()
    return (last.seal_seq, last.hash) if last else (0, "")


def seal_chain(batch_size: int = 5000) -> int:
    """Seal up to `batch_size` unsealed rows (every committed row not yet sealed, whatever
    its id) after the current head, and checkpoint the new head once committed. One sealer
    at a time: a transaction-scoped advisory lock on PostgreSQL; SQLite's IMMEDIATE
    transactions already serialise writers. The ORM's update is refused on audit rows, so
    this is the one place that writes to them after insert."""
    key = _key()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEAL_LOCK_KEY])
        seq, prev = _head()
        rows = list(AuditEvent.objects.filter(seal_seq__isnull=True).order_by("id")[:batch_size])
        sealed = []
        for ev in rows:
            seq += 1
            prev = _row_digest(prev, seq, ev, key)
            sealed.append((seq, prev, ev.pk))
        if sealed:
            with connection.cursor() as cursor:
                cursor.executemany(
                    "UPDATE ipm_auditevent SET seal_seq = %s, hash = %s "
                    "WHERE id = %s AND seal_seq IS NULL", sealed)
    if sealed:
        transaction.on_commit(lambda: write_checkpoint(seq, prev))
    return len(sealed)


def seal_all(batch_size: int = 5000) -> int:
    """Seal until nothing committed is left unsealed."""
    total = 0
    while True:
        sealed = seal_chain(batch_size)
        total += sealed
        if sealed < batch_size:
            return total


def write_checkpoint(seq: int, head: str) -> str:
    """Record the head outside the database: a log line and a line appended to
    AUDIT_CHECKPOINT_FILE. Returns the line."""
    line = f"audit-checkpoint seq={seq} hash={head} at={timezone.now().isoformat()}"
    logger.info(line)
    path = getattr(settings, "AUDIT_CHECKPOINT_FILE", "")
    if path:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, (line + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            logger.exception("could not append the audit checkpoint to %s", path)
    return line


def parse_checkpoint(value: str) -> tuple[int, str]:
    """A checkpoint from a file (its last checkpoint line) or from the value itself:
    a logged line (`... seq=N hash=H ...`) or `N:H`."""
    text = value
    if os.path.isfile(value):
        with open(value, encoding="utf-8") as f:
            lines = [ln for ln in f if _CHECKPOINT_RE.search(ln)]
        if not lines:
            raise ValueError(f"no audit checkpoint in {value}")
        text = lines[-1]
    match = _CHECKPOINT_RE.search(text)
    if not match:
        raise ValueError("a checkpoint is a file, 'seq=N hash=HEX' or 'N:HEX'")
    seq, head = (match.group(1), match.group(2)) if match.group(1) else (match.group(3),
                                                                           match.group(4))
    return int(seq), head


@dataclass
class ChainVerdict:
    ok: bool
    checked: int = 0
    bad_id: int | None = None
    problem: str = ""
    head: tuple[int, str] = (0, "")


def verify_chain(checkpoint: tuple[int, str] | None = None,
                 grace_seconds: int | None = None) -> ChainVerdict:
    """Walk the chain in seal order. Fails on: a row whose hash does not match (edited, or
    re-hashed without the key); a gap in the seal sequence (a sealed row removed); a chain
    that ends before, or differs at, the `checkpoint` (newest rows removed or rewritten);
    a committed row older than the grace period still unsealed."""
    key = _key()
    prev, expected, checked = "", 1, 0
    at_checkpoint = None
    for ev in (AuditEvent.objects.filter(seal_seq__isnull=False).order_by("seal_seq")
               .iterator(chunk_size=2000)):
        if ev.seal_seq != expected:
            return ChainVerdict(False, checked, ev.pk,
                                f"seal sequence jumps from {expected - 1} to {ev.seal_seq}: "
                                "sealed rows were removed")
        if ev.hash != _row_digest(prev, ev.seal_seq, ev, key):
            return ChainVerdict(False, checked, ev.pk,
                                f"row {ev.pk} (seal {ev.seal_seq}) was altered or re-hashed")
        if checkpoint and ev.seal_seq == checkpoint[0]:
            at_checkpoint = ev.hash
        prev, expected, checked = ev.hash, expected + 1, checked + 1
    head = (expected - 1, prev)
    if checkpoint:
        seq, digest = checkpoint
        if head[0] < seq:
            return ChainVerdict(False, checked, None,
                                f"the chain ends at seal {head[0]} but a checkpoint recorded "
                                f"seal {seq}: the newest sealed rows were removed", head)
        if at_checkpoint != digest:
            return ChainVerdict(False, checked, None,
                                f"seal {seq} differs from its checkpoint: the chain was "
                                "rewritten", head)
    grace = settings.AUDIT_SEAL_GRACE_SECONDS if grace_seconds is None else grace_seconds
    stale = AuditEvent.objects.filter(seal_seq__isnull=True,
                                      at__lt=timezone.now() - timedelta(seconds=grace))
    first = stale.order_by("id").values_list("id", flat=True).first()
    if first is not None:
        return ChainVerdict(False, checked, first,
                            f"{stale.count()} committed rows older than {grace} s are still "
                            f"unsealed (first id {first}): is the audit-seal beat task "
                            "running?", head)
    return ChainVerdict(True, checked, None, "", head)
