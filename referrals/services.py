"""Every write to a referral goes through here: pages, API, admin actions and tasks."""

from django.db import transaction
from django.utils import timezone

from ipm.audit import audit_record
from ipm.errors import Conflict, InvalidInput

from . import transitions as t
from .models import Referral, ReferralEvent, Service


@transaction.atomic
def referral_create(*, patient, service: Service, reason: str, priority: str = "routine",
                    actor=None, needs_mdt: bool = False, note: str = "") -> Referral:
    if not (reason or "").strip():
        raise InvalidInput("A referral needs a reason.", {"reason": ["This field is required."]})
    if priority not in Referral.Priority.values:
        raise InvalidInput("Unknown priority.", {"priority": ["Use 'routine' or 'urgent'."]})
    referral = Referral.objects.create(
        patient=patient, service=service, reason=reason.strip(), priority=priority,
        priority_rank=0 if priority == Referral.Priority.URGENT else 1,
        referred_by=actor if getattr(actor, "pk", None) else None, needs_mdt=needs_mdt,
    )
    ReferralEvent.objects.create(referral=referral, from_status="", to_status=t.NEW,
                                 note=note or reason.strip(),
                                 actor=actor if getattr(actor, "pk", None) else None)
    audit_record(actor=actor, action="create", obj=referral)
    return referral


_TIMESTAMP_FOR = {t.TRIAGED: "triaged_at", t.SCHEDULED: "scheduled_at",
                  t.IN_TREATMENT: "first_visit_at"}


@transaction.atomic
def referral_transition(*, referral: Referral | int, to: str, actor=None, note: str = "",
                        reason: str = "") -> Referral:
    """Move a referral to `to` if the state machine allows it; otherwise raise Conflict
    (409) and change nothing. The row is locked, so two coordinators acting at once
    serialise: the second sees the first one's state and is refused if it no longer fits."""
    pk = referral.pk if isinstance(referral, Referral) else referral
    locked = Referral.objects.select_for_update().get(pk=pk)
    reason = (reason or "").strip()
    note = (note or "").strip()
    try:
        t.check_transition(locked.status, to, reason or note)
    except t.TransitionRefused as exc:
        if exc.field == "reason":
            raise InvalidInput(exc.message, {"reason": [exc.message]})
        raise Conflict(exc.message, {"to": [exc.message]})
    now = timezone.now()
    previous = locked.status
    locked.status = to
    fields = ["status", "updated_at"]
    stamp = _TIMESTAMP_FOR.get(to)
    if stamp and getattr(locked, stamp) is None:
        setattr(locked, stamp, now)
        fields.append(stamp)
    if to in t.FINAL_STATES:
        locked.closed_at = now
        locked.status_reason = reason or note
        fields += ["closed_at", "status_reason"]
    locked.save(update_fields=fields)
    ReferralEvent.objects.create(referral=locked, from_status=previous, to_status=to,
                                 note=reason or note,
                                 actor=actor if getattr(actor, "pk", None) else None, at=now)
    audit_record(actor=actor, action=f"transition:{previous}->{to}", obj=locked)
    return locked
