"""Every write to a referral goes through here: pages, API, admin actions, MDT decisions and
tasks. Each write is atomic, audited, and moves state only through `referral_transition`."""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from ipm import roles
from ipm.audit import audit_record
from ipm.errors import Conflict, DomainError, InvalidInput, NotFound

from . import transitions as t
from .models import MdtAgendaItem, MdtAttendee, MdtMeeting, Referral, ReferralEvent, Service
from .selectors import complexity_criteria, open_disciplines_count


def _user_or_none(actor):
    return actor if getattr(actor, "pk", None) else None


@transaction.atomic
def referral_create(*, patient, service: Service, reason: str, priority: str = "routine",
                    actor=None, needs_mdt: bool = False, note: str = "",
                    referred_at=None, source: str = "", source_system: str = "",
                    source_identifier: str = "") -> Referral:
    """A new referral in state `new`, with its first history row.
    `referred_at` backdates it (imports and demo data); it defaults to now. A referral sent
    in by another system names its `source` (the sender) and the sender's identifier
    (`source_system`, `source_identifier`: unique, so it is received once)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("A referral needs a reason.", {"reason": ["This field is required."]})
    if priority not in Referral.Priority.values:
        raise InvalidInput("Unknown priority.", {"priority": ["Use 'routine' or 'urgent'."]})
    if not service.active:
        raise InvalidInput(f"The service '{service.code}' is not taking referrals.",
                           {"service": ["This service is inactive."]})
    at = referred_at or timezone.now()
    referral = Referral.objects.create(
        patient=patient, service=service, reason=reason, priority=priority,
        priority_rank=0 if priority == Referral.Priority.URGENT else 1,
        referred_by=_user_or_none(actor), needs_mdt=needs_mdt, referred_at=at,
        source=source, source_system=source_system, source_identifier=source_identifier,
    )
    ReferralEvent.objects.create(referral=referral, from_status="", to_status=t.NEW,
                                 note=(note or "").strip() or reason,
                                 actor=_user_or_none(actor), at=at)
    audit_record(actor=actor, action="create", obj=referral)
    return referral


_TIMESTAMP_FOR = {t.TRIAGED: "triaged_at", t.SCHEDULED: "scheduled_at",
                  t.IN_TREATMENT: "first_visit_at"}


@transaction.atomic
def referral_transition(*, referral: Referral | int, to: str, actor=None, note: str = "",
                        reason: str = "", expected: str | None = None, at=None) -> Referral:
    """Move a referral to `to` if the state machine allows it, record who/when/from/to/note,
    and return the updated row.

    Refusals change nothing: an unknown state or a missing reason raises InvalidInput
    (400); a transition the state machine does not allow raises Conflict (409) naming the
    allowed states. A reason is required for `declined`/`cancelled`; a note given alone
    serves as the reason (docs/product.md §4: "note / reason").

    The row is locked, so two coordinators acting at once serialise: the second sees the
    first one's state and is refused if it no longer fits. Pass `expected` (the status the
    user saw) to be refused whenever someone else moved the referral first, even to a
    state from which `to` would still be allowed.
    """
    pk = referral.pk if isinstance(referral, Referral) else referral
    try:
        locked = Referral.objects.select_for_update().get(pk=pk)
    except Referral.DoesNotExist:
        raise NotFound("No such referral.", {"referral": [f"No referral with id {pk}."]})
    reason = (reason or "").strip()
    note = (note or "").strip()
    if expected and expected != locked.status:
        message = (f"This referral is now '{locked.status}' (it was '{expected}' when you "
                   f"looked): someone else changed it first. Nothing was done.")
        raise Conflict(message, {"from": [message]})
    try:
        t.check_transition(locked.status, to, reason or note)
    except t.TransitionRefused as exc:
        if exc.code == t.NOT_ALLOWED:
            raise Conflict(exc.message, {"to": [exc.message]})
        raise InvalidInput(exc.message, {exc.field: [exc.message]})
    if to in t.REASON_REQUIRED and not reason:
        reason, note = note, ""
    now = at or timezone.now()
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
                                 note=note, reason=reason, actor=_user_or_none(actor), at=now)
    audit_record(actor=actor, action=f"transition:{previous}->{to}", obj=locked,
                 detail={"from": previous, "to": to})
    return locked


def referrals_triage_many(*, referral_ids: Iterable[int], actor, note: str = ""
                          ) -> tuple[list[int], dict[int, str]]:
    """Bulk triage from the queue: each referral in its own transaction, so one that
    someone else moved meanwhile is reported and the others still go through.
    Returns (triaged ids, {refused id: message})."""
    done: list[int] = []
    refused: dict[int, str] = {}
    for pk in dict.fromkeys(int(i) for i in referral_ids):
        try:
            referral_transition(referral=pk, to=t.TRIAGED, actor=actor, note=note,
                                expected=t.NEW)
            done.append(pk)
        except DomainError as exc:
            refused[pk] = exc.message
    return done, refused


def _check_assignable(user) -> None:
    if not user.is_active or not roles.has_role(user, *roles.PATIENT_ROLES):
        raise InvalidInput(
            "Referrals can only be assigned to an active clinician or coordinator.",
            {"assignee": ["This user is not an active clinician or coordinator."]})


@transaction.atomic
def referral_assign(*, referral: Referral | int, assignee, actor=None) -> Referral:
    """Assign a referral to a clinician or coordinator (or to nobody with None).
    `assignee` may be a user or a user id."""
    pk = referral.pk if isinstance(referral, Referral) else referral
    try:
        locked = Referral.objects.select_for_update().get(pk=pk)
    except Referral.DoesNotExist:
        raise NotFound("No such referral.", {"referral": [f"No referral with id {pk}."]})
    if assignee is not None and not hasattr(assignee, "pk"):
        try:
            assignee = get_user_model().objects.get(pk=int(assignee))
        except (ValueError, TypeError, get_user_model().DoesNotExist):
            raise InvalidInput("Unknown assignee.",
                               {"assignee": [f"No user with id {assignee}."]})
    if assignee is not None:
        _check_assignable(assignee)
    if not locked.is_open:
        raise Conflict(f"A {locked.status} referral cannot be reassigned.",
                       {"assignee": [f"The referral is {locked.status}."]})
    previous = locked.assignee_id
    new = assignee.pk if assignee is not None else None
    if previous != new:
        locked.assignee = assignee
        locked.save(update_fields=["assignee", "updated_at"])
        audit_record(actor=actor, action="assign", obj=locked,
                     detail={"from": previous, "to": new})
    return locked


@transaction.atomic
def referral_request_mdt(*, referral: Referral | int, actor=None, requested: bool = True
                         ) -> Referral:
    """Flag (or unflag) a referral for MDT review ("on request")."""
    pk = referral.pk if isinstance(referral, Referral) else referral
    locked = Referral.objects.select_for_update().get(pk=pk)
    if locked.needs_mdt != requested:
        locked.needs_mdt = requested
        locked.save(update_fields=["needs_mdt", "updated_at"])
        audit_record(actor=actor, action="mdt_requested" if requested else "mdt_unrequested",
                     obj=locked)
    return locked


# --- MDT -----------------------------------------------------------------------------------

def _validate_meeting(*, mode: str, location: str, video_link: str) -> None:
    if mode not in MdtMeeting.Mode.values:
        raise InvalidInput("Unknown meeting mode.", {"mode": ["Use 'in_person' or 'virtual'."]})
    if mode == MdtMeeting.Mode.VIRTUAL and not video_link:
        raise InvalidInput("A virtual meeting needs a video link.",
                           {"video_link": ["Required for a virtual meeting."]})
    if mode == MdtMeeting.Mode.IN_PERSON and not location:
        raise InvalidInput("An in-person meeting needs a location.",
                           {"location": ["Required for an in-person meeting."]})


@transaction.atomic
def mdt_meeting_create(*, scheduled_for, mode: str = MdtMeeting.Mode.IN_PERSON,
                       location: str = "", video_link: str = "", duration_minutes: int = 60,
                       notes: str = "", actor=None,
                       attendees: Iterable[tuple[str, object, str]] = ()) -> MdtMeeting:
    """A meeting; `attendees` are (discipline, user or None, name) triples."""
    location, video_link = (location or "").strip(), (video_link or "").strip()
    _validate_meeting(mode=mode, location=location, video_link=video_link)
    if scheduled_for is None:
        raise InvalidInput("When is the meeting?", {"scheduled_for": ["This field is required."]})
    meeting = MdtMeeting.objects.create(
        scheduled_for=scheduled_for, mode=mode, location=location, video_link=video_link,
        duration_minutes=duration_minutes or 60, notes=(notes or "").strip(),
        created_by=_user_or_none(actor),
    )
    for discipline, user, name in attendees:
        _attendee_create(meeting=meeting, discipline=discipline, user=user, name=name)
    audit_record(actor=actor, action="create", obj=meeting)
    return meeting


def _attendee_create(*, meeting, discipline: str, user=None, name: str = "") -> MdtAttendee:
    discipline, name = (discipline or "").strip(), (name or "").strip()
    if not discipline:
        raise InvalidInput("Each attendee needs a discipline.",
                           {"discipline": ["This field is required."]})
    if user is None and not name:
        raise InvalidInput("Choose a staff member or type a name.",
                           {"name": ["Choose a staff member or type a name."]})
    return MdtAttendee.objects.create(meeting=meeting, discipline=discipline,
                                      user=_user_or_none(user), name=name)


@transaction.atomic
def mdt_attendee_add(*, meeting: MdtMeeting, discipline: str, user=None, name: str = "",
                     actor=None) -> MdtAttendee:
    attendee = _attendee_create(meeting=meeting, discipline=discipline, user=user, name=name)
    audit_record(actor=actor, action="mdt.attendee_add", obj=meeting,
                 detail={"discipline": attendee.discipline, "user": attendee.user_id})
    return attendee


@transaction.atomic
def mdt_attendee_remove(*, attendee: MdtAttendee, actor=None) -> None:
    meeting = attendee.meeting
    audit_record(actor=actor, action="mdt.attendee_remove", obj=meeting,
                 detail={"discipline": attendee.discipline, "user": attendee.user_id})
    attendee.delete()


@transaction.atomic
def mdt_agenda_add(*, meeting: MdtMeeting, referral: Referral | int, actor=None,
                   note: str = "") -> MdtAgendaItem:
    """Put a referral on a meeting's agenda. It must still await triage (new or triaged)
    and be on no other undecided agenda. The complexity criteria met at this moment are
    kept with the item."""
    meeting = MdtMeeting.objects.select_for_update().get(pk=meeting.pk)  # serialise positions
    pk = referral.pk if isinstance(referral, Referral) else referral
    try:
        referral = Referral.objects.select_related("patient").get(pk=pk)
    except Referral.DoesNotExist:
        raise InvalidInput("No such referral.", {"referral": [f"No referral with id {pk}."]})
    if referral.status not in (t.NEW, t.TRIAGED):
        raise Conflict(f"Only new or triaged referrals go to the MDT; this one is "
                       f"{referral.status}.", {"referral": ["Not awaiting triage."]})
    criteria = complexity_criteria(referral, open_disciplines_count(referral))
    if not criteria:
        criteria = [MdtAgendaItem.Criterion.REQUESTED.value]
    position = (meeting.items.aggregate(m=Max("position"))["m"] or 0) + 1
    try:
        with transaction.atomic():
            item = MdtAgendaItem.objects.create(
                meeting=meeting, referral=referral, position=position, criteria=criteria,
                note=(note or "").strip(), added_by=_user_or_none(actor))
    except IntegrityError:
        raise Conflict("This referral is already on an MDT agenda awaiting a decision.",
                       {"referral": ["Already on an undecided MDT agenda."]})
    audit_record(actor=actor, action="mdt.agenda_add", obj=item,
                 patient_id=referral.patient_id, detail={"meeting": meeting.pk})
    return item


@transaction.atomic
def mdt_agenda_remove(*, item: MdtAgendaItem, actor=None) -> None:
    locked = MdtAgendaItem.objects.select_for_update().select_related("referral").get(pk=item.pk)
    if locked.is_decided:
        raise Conflict("A decided agenda item stays on the record.",
                       {"item": ["Already decided."]})
    audit_record(actor=actor, action="mdt.agenda_remove", obj=locked,
                 patient_id=locked.referral.patient_id, detail={"meeting": locked.meeting_id})
    locked.delete()


def _display(user) -> str:
    return user.get_full_name() or user.username


@transaction.atomic
def mdt_decision_record(*, item: MdtAgendaItem | int, decision: str, actor=None,
                        services: Iterable[Service] = (), clinicians: Iterable = (),
                        advice: str = "", note: str = "") -> MdtAgendaItem:
    """Record the team's decision on one agenda item and move the referral on through the
    state machine, all or nothing:

    - `services`: a referral is created (and triaged by the MDT) for each chosen service the
      patient has no open referral for; this referral is triaged.
    - `joint_appointment`: two or more clinicians see the patient together; this referral
      is triaged, the note naming them.
    - `advice`: back to the GP with advice; this referral is declined with the advice as
      its reason.
    A decision is recorded once; a second attempt is refused (409), and so is one before the
    meeting's day (the team has not met yet).
    """
    pk = item.pk if isinstance(item, MdtAgendaItem) else item
    locked = (MdtAgendaItem.objects.select_for_update().select_related("meeting")
              .get(pk=pk))
    if locked.is_decided:
        raise Conflict("The MDT decision on this referral is already recorded.",
                       {"decision": ["Already decided."]})
    if decision not in (MdtAgendaItem.Decision.SERVICES, MdtAgendaItem.Decision.JOINT_APPOINTMENT,
                        MdtAgendaItem.Decision.ADVICE):
        raise InvalidInput("Choose a decision.",
                           {"decision": ["Use 'services', 'joint_appointment' or 'advice'."]})
    meeting_day = timezone.localdate(locked.meeting.scheduled_for)
    if timezone.localdate() < meeting_day:
        raise Conflict(f"The meeting is on {meeting_day:%d %b %Y}: its decisions can be recorded "
                       "from that day, not before.",
                       {"meeting": [f"The meeting has not happened yet ({meeting_day:%Y-%m-%d})."]})
    referral = (Referral.objects.select_for_update().select_related("patient", "service")
                .get(pk=locked.referral_id))
    note = (note or "").strip()
    advice = (advice or "").strip()
    services = list(dict.fromkeys(services))
    clinicians = list(dict.fromkeys(clinicians))
    when = timezone.localtime(locked.meeting.scheduled_for)
    at_meeting = f"MDT meeting of {when:%d %b %Y}"
    created: list[Referral] = []

    if decision == MdtAgendaItem.Decision.ADVICE:
        if not advice:
            raise InvalidInput("Write the advice for the GP.", {"advice": ["This field is required."]})
        referral_transition(referral=referral, to=t.DECLINED, actor=actor, reason=advice,
                            note=f"{at_meeting}: back to the GP with advice. {note}".strip())
    else:
        if referral.status not in (t.NEW, t.TRIAGED):
            raise Conflict(f"The referral is now {referral.status}; the decision cannot be "
                           f"applied.", {"decision": [f"Referral is {referral.status}."]})
        if decision == MdtAgendaItem.Decision.SERVICES:
            if not services:
                raise InvalidInput("Choose at least one service.",
                                   {"services": ["Choose at least one service."]})
            open_services = set(Referral.objects.filter(
                patient_id=referral.patient_id, status__in=t.OPEN_STATES,
            ).values_list("service_id", flat=True))
            for service in services:
                if service.pk in open_services:
                    continue  # already referred there (this referral included)
                new = referral_create(
                    patient=referral.patient, service=service, priority=referral.priority,
                    reason=f"{at_meeting}: {note or referral.reason}", actor=actor,
                    note=f"Created by the {at_meeting} (from referral {referral.pk}).")
                referral_transition(referral=new, to=t.TRIAGED, actor=actor,
                                    note=f"Triaged at the {at_meeting}.")
                created.append(new)
            summary = "services " + ", ".join(s.name for s in services)
        else:
            if len(clinicians) < 2:
                raise InvalidInput("A joint appointment needs two or more clinicians.",
                                   {"clinicians": ["Choose two or more clinicians."]})
            for user in clinicians:
                if not roles.has_role(user, roles.CLINICIAN) or not user.is_active:
                    raise InvalidInput(f"{_display(user)} is not an active clinician.",
                                       {"clinicians": [f"{_display(user)} is not a clinician."]})
            summary = "joint appointment with " + " and ".join(_display(u) for u in clinicians)
        if referral.status == t.NEW:
            referral_transition(referral=referral, to=t.TRIAGED, actor=actor,
                                note=f"{at_meeting}: {summary}. {note}".strip())

    locked.decision = decision
    locked.decision_note = advice if decision == MdtAgendaItem.Decision.ADVICE else note
    locked.decided_by = _user_or_none(actor)
    locked.decided_at = timezone.now()
    locked.save(update_fields=["decision", "decision_note", "decided_by", "decided_at"])
    if decision == MdtAgendaItem.Decision.SERVICES:
        locked.decided_services.set(services)
        locked.created_referrals.set(created)
    elif decision == MdtAgendaItem.Decision.JOINT_APPOINTMENT:
        locked.joint_clinicians.set(clinicians)
    if referral.needs_mdt:  # the request is answered
        referral.needs_mdt = False
        referral.save(update_fields=["needs_mdt", "updated_at"])
    audit_record(actor=actor, action=f"mdt.decision:{decision}", obj=locked,
                 patient_id=referral.patient_id,
                 detail={"meeting": locked.meeting_id, "referral": referral.pk,
                         "created_referrals": [r.pk for r in created]})
    return locked
