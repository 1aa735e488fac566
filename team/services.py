"""Every write of the care team (docs/product.md §6): program settings, sites, staff (invite, roles,
sites, deactivate, second-factor reset) and caseload reassignment. Each is one transaction
with its audit row; pages and the API call the same functions."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from ipm import accounts, roles
from ipm.audit import audit_record
from ipm.errors import Conflict, InvalidInput
from patients import program as program_rules
from patients.models import PHONE_E164, Program, Site, validate_timezone
from patients.services import caseload_count, caseload_reassign
from reminders.services import reminder_schedule

from .models import StaffProfile
from .readiness import readiness_changed
from .reminder_kinds import KIND as INVITE_KIND

User = get_user_model()

PROGRAM_FIELDS = ("name", "time_zone", "clinical_lead", "deputy_lead", "escalation_mode",
                  "escalation_hours", "working_hours", "holiday_country", "holiday_region",
                  "crisis_message")


# --- Program settings --------------------------------------------------------------------

def _active_clinician(user, field: str, errors: dict) -> None:
    if user is not None and (not user.is_active or not roles.has_role(user, roles.CLINICIAN)):
        errors[field] = [f"{user.get_username()} is not an active clinician."]


@transaction.atomic
def program_update(*, program: Program, actor, **data) -> Program:
    """Change program settings. All fields are validated together (400 naming each bad
    field, nothing saved): lead and deputy active clinicians (and not the same person),
    working hours per weekday HH:MM with start before end, a holiday calendar the
    `holidays` library knows, a real time zone. A blank crisis message means the default for
    the holiday country."""
    program = Program.objects.select_for_update().get(pk=program.pk)
    data = {k: v for k, v in data.items() if k in PROGRAM_FIELDS}
    errors: dict = {}
    if "name" in data and not str(data["name"] or "").strip():
        errors["name"] = ["Give the program a name."]
    if "time_zone" in data:
        try:
            validate_timezone(data["time_zone"])
        except ValidationError as exc:
            errors["time_zone"] = exc.messages
    for field in ("clinical_lead", "deputy_lead"):
        if field in data:
            _active_clinician(data[field], field, errors)
    lead = data.get("clinical_lead", program.clinical_lead)
    deputy = data.get("deputy_lead", program.deputy_lead)
    if lead is not None and deputy is not None and lead.pk == deputy.pk:
        errors.setdefault("deputy_lead", ["The deputy must be someone other than the lead."])
    if "working_hours" in data:
        problems = program_rules.validate_working_hours(data["working_hours"])
        if problems:
            errors["working_hours"] = problems
    if "escalation_mode" in data and data["escalation_mode"] not in Program.EscalationMode.values:
        errors["escalation_mode"] = [f"Use one of {', '.join(Program.EscalationMode.values)}."]
    if "escalation_hours" in data:
        hours = data["escalation_hours"]
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 72:
            errors["escalation_hours"] = ["Give a whole number of hours from 1 to 72."]
    if "holiday_country" in data:
        data["holiday_country"] = (data["holiday_country"] or "").upper()
    if "holiday_region" in data:
        data["holiday_region"] = (data["holiday_region"] or "").upper()
    if "holiday_country" in data or "holiday_region" in data:
        country = data.get("holiday_country", program.holiday_country)
        region = data.get("holiday_region", program.holiday_region)
        if "holiday_country" in data and "holiday_region" not in data and country != program.holiday_country:
            region = data["holiday_region"] = ""  # a new country's regions differ
        errors.update(program_rules.validate_holiday_calendar(country, region))
    if "crisis_message" in data:
        data["crisis_message"] = (data["crisis_message"] or "").strip()
    if errors:
        raise InvalidInput("Some program settings are invalid: " + ", ".join(errors) + ".", errors)
    changed = []
    for field, value in data.items():
        current = getattr(program, f"{field}_id" if field in ("clinical_lead", "deputy_lead")
                          else field)
        new = getattr(value, "pk", value) if field in ("clinical_lead", "deputy_lead") else value
        if current != new:
            setattr(program, field, value)
            changed.append(field)
    if changed:
        program.save(update_fields=changed)
        audit_record(actor=actor, action="program.update", obj=program,
                     detail={"fields": changed,
                             **{f: getattr(program, f"{f}_id") for f in
                                ("clinical_lead", "deputy_lead") if f in changed}})
        readiness_changed()
    return program


# --- Sites -------------------------------------------------------------------------------

@transaction.atomic
def site_create(*, program: Program, actor, name: str, code: str, time_zone: str = "") -> Site:
    """A new clinic of the program; a duplicate code is 409."""
    site = Site(program=program, name=(name or "").strip(), code=(code or "").strip().lower(),
                time_zone=time_zone or program.time_zone)
    try:
        site.full_clean(exclude=["program", "staff"], validate_unique=False)
    except ValidationError as exc:
        raise InvalidInput("Some site details are invalid.", exc.message_dict)
    if Site.objects.filter(program=program, code=site.code).exists():
        raise _duplicate_site(site.code)
    try:
        with transaction.atomic():
            site.save()
    except IntegrityError:
        raise _duplicate_site(site.code)
    audit_record(actor=actor, action="site.create", obj=site, detail={"code": site.code})
    readiness_changed()
    return site


def _duplicate_site(code: str) -> Conflict:
    msg = f"A site with code '{code}' already exists."
    return Conflict(msg, {"code": [msg]})


# --- Staff -------------------------------------------------------------------------------

def _validate_staff(*, roles_: list[str] | None, sites: list[Site] | None, email: str | None,
                    phone: str | None, errors: dict, inviting: bool) -> None:
    if roles_ is not None:
        unknown = sorted(set(roles_) - set(roles.ROLES))
        if unknown:
            errors["roles"] = [f"Unknown role(s) {', '.join(unknown)}: use {', '.join(roles.ROLES)}."]
        elif not roles_:
            errors["roles"] = ["Give at least one role."]
    if sites is not None and not sites and not (roles_ and set(roles_) <= {roles.ADMIN, roles.INTEGRATION}):
        errors["sites"] = ["Give at least one site (clinical staff see only their sites' patients)."]
    if email is not None and email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = ["Enter a valid email address."]
    if inviting and not email:
        errors["email"] = ["An email address is needed to send the invitation."]
    if phone:
        try:
            PHONE_E164(phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages


def staff_invite(*, user, actor):
    """Queue the invitation email (a single-use set-password link) through the outbox."""
    now = timezone.now()
    row = reminder_schedule(kind=INVITE_KIND, scheduled_for=now, channel="email",
                            target_type="user", target_id=user.pk, recipient_user=user,
                            offset=str(int(now.timestamp() * 1000)))
    audit_record(actor=actor, action="staff.invite", object_type="auth.user",
                 object_id=str(user.pk), detail={"reminder": row.pk})
    return row


@transaction.atomic
def staff_create(*, actor, username: str, email: str = "", first_name: str = "",
                 last_name: str = "", roles_: list[str] | None = None,
                 sites: list[Site] | None = None, phone: str = "", invite: bool = True):
    """Add a staff member (no password yet) with roles and sites and queue their invitation.
    A duplicate username is 409."""
    username = (username or "").strip()
    errors: dict = {}
    if not username:
        errors["username"] = ["This field is required."]
    roles_ = list(roles_ or [])
    sites = list(sites) if sites is not None else []
    _validate_staff(roles_=roles_, sites=sites, email=email, phone=phone, errors=errors,
                    inviting=invite)
    if errors:
        raise InvalidInput("Some staff details are invalid: " + ", ".join(errors) + ".", errors)
    if User.objects.filter(username__iexact=username).exists():
        raise _duplicate_username(username)
    try:
        with transaction.atomic():
            user = User(username=username, email=email, first_name=first_name or "",
                        last_name=last_name or "", is_staff=roles.ADMIN in roles_)
            user.set_unusable_password()
            user.save()
    except IntegrityError:
        raise _duplicate_username(username)
    roles.ensure_role_groups()
    user.groups.set(Group.objects.filter(name__in=roles_))
    user.sites.set(sites)
    StaffProfile.objects.create(user=user, phone=phone or "")
    audit_record(actor=actor, action="staff.create", object_type="auth.user",
                 object_id=str(user.pk), detail={"username": username, "roles": roles_,
                                                 "sites": [s.pk for s in sites]})
    if invite and roles_ != [roles.INTEGRATION]:
        staff_invite(user=user, actor=actor)
    readiness_changed()
    return user


def _duplicate_username(username: str) -> Conflict:
    msg = f"The username '{username}' is taken."
    return Conflict(msg, {"username": [msg]})


@transaction.atomic
def staff_update(*, user, actor, **data):
    """Change a person's details, roles, sites or active state. Deactivating someone who
    still holds a caseload is refused (409 with the count); deactivating ends their sessions
    and API tokens at once."""
    user = User.objects.select_for_update().get(pk=user.pk)
    roles_ = data.get("roles")
    sites = data.get("sites")
    errors: dict = {}
    _validate_staff(roles_=roles_, sites=sites, email=data.get("email"), phone=data.get("phone"),
                    errors=errors, inviting=False)
    if "email" in data and not data["email"] and user.groups.filter(name=roles.CLINICIAN).exists():
        errors.setdefault("email", ["A clinician needs an email address for alerts."])
    if errors:
        raise InvalidInput("Some staff details are invalid: " + ", ".join(errors) + ".", errors)
    changed = []
    deactivating = data.get("is_active") is False and user.is_active
    if deactivating:
        if user.pk == getattr(actor, "pk", None):
            raise Conflict("You cannot deactivate yourself.", {"is_active": ["That is you."]})
        held = caseload_count(user)
        if held:
            raise Conflict(f"{user.get_username()} still holds a caseload of {held} patient(s): "
                           "reassign it first.", {"is_active": ["Reassign the caseload first."]},
                           detail={"caseload": held})
        lead_of = Program.objects.filter(clinical_lead=user).exists() or Program.objects.filter(
            deputy_lead=user).exists()
        if lead_of:
            raise Conflict(f"{user.get_username()} is the clinical lead or deputy: choose "
                           "another first.", {"is_active": ["Change the program's lead first."]})
    for field in ("email", "first_name", "last_name", "is_active"):
        if field in data and getattr(user, field) != data[field]:
            setattr(user, field, data[field])
            changed.append(field)
    if roles_ is not None:
        current = set(user.groups.filter(name__in=roles.ROLES).values_list("name", flat=True))
        if current != set(roles_):
            if roles.CLINICIAN in current and roles.CLINICIAN not in roles_:
                held = Program.objects.filter(clinical_lead=user).exists()
                if held or user.patients.exists():
                    raise Conflict(f"{user.get_username()} is still a responsible clinician or "
                                   "the lead: reassign first.",
                                   {"roles": ["Reassign their patients first."]})
            roles.ensure_role_groups()
            keep = user.groups.exclude(name__in=roles.ROLES)
            user.groups.set([*keep, *Group.objects.filter(name__in=roles_)])
            if user.is_staff != (roles.ADMIN in roles_):
                user.is_staff = roles.ADMIN in roles_
                changed.append("is_staff")
            changed.append("roles")
    if sites is not None and set(user.sites.values_list("pk", flat=True)) != {s.pk for s in sites}:
        user.sites.set(sites)
        changed.append("sites")
    if "phone" in data:
        profile, _ = StaffProfile.objects.get_or_create(user=user)
        if profile.phone != (data["phone"] or ""):
            profile.phone = data["phone"] or ""
            profile.save(update_fields=["phone"])
            changed.append("phone")
    model_fields = [f for f in changed if f in ("email", "first_name", "last_name", "is_active",
                                                "is_staff")]
    if model_fields:
        user.save(update_fields=model_fields)
    if deactivating:
        # is_active is saved above; user_deactivate ends every session and API token, audited.
        accounts.user_deactivate(user=user, actor=actor)
    if changed:
        audit_record(actor=actor, action="staff.update", object_type="auth.user",
                     object_id=str(user.pk), detail={"fields": changed,
                                                     **({"roles": roles_} if "roles" in changed else {}),
                                                     **({"sites": [s.pk for s in sites]}
                                                        if "sites" in changed else {})})
        readiness_changed()
    return user


@transaction.atomic
def caseload_move(*, from_user, to_user, actor, clinician: bool = True,
                  care_manager: bool = True) -> dict:
    """Bulk reassignment (patients.services.caseload_reassign) plus the readiness cache."""
    moved = caseload_reassign(from_user=from_user, to_user=to_user, actor=actor,
                              clinician=clinician, care_manager=care_manager)
    readiness_changed()
    return moved
