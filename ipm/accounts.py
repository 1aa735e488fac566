"""Credentials: passwords, deactivation, API tokens and the second factor.

Every change to a person's credentials goes through these services, whichever path asks
(pages, API, the Django admin, management commands), so each one ends the same sessions and
tokens and writes the same audit row:

- `user_password_set` / `user_deactivate` end every API token and session of the user;
- `api_token_create` / `api_token_revoke`: hashed API tokens with an expiry (django-rest-knox);
- `two_factor_enrol`, `recovery_codes_create`, `two_factor_reset`: TOTP devices and single-use
  recovery codes (django-otp's TOTP and static plugins). Recovery codes are stored as a keyed
  hash (HMAC with SECRET_KEY), never in the clear.
"""

import hashlib
import hmac
import logging
import secrets

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from . import roles
from .audit import audit_record
from .errors import InvalidInput

log = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
RECOVERY_DEVICE_NAME = "recovery codes"
# No look-alikes (0/o, 1/l/i): codes are typed from paper.
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class NotAllowed(InvalidInput):
    status_code = 403
    default_message = "Not allowed."


# --- Sessions and API tokens ------------------------------------------------------------

def sessions_end(*, user, keep_session_key: str | None = None) -> int:
    """Delete every live session of `user` (but `keep_session_key`). Sessions are stored in
    the database without a user column, so the live ones are decoded; they last 30 minutes
    idle, so there are few."""
    doomed = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.session_key == keep_session_key:
            continue
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            doomed.append(session.session_key)
    if doomed:
        Session.objects.filter(session_key__in=doomed).delete()
    return len(doomed)


def api_tokens_end(*, user) -> int:
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


def api_token_create(*, user) -> tuple[AuthToken, str]:
    """A new API token (only its hash is stored); expired tokens of the user go first."""
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    instance, token = AuthToken.objects.create(user=user)
    audit_record(actor=user, action="api_token.created", object_type="knox.authtoken",
                 object_id=instance.token_key)
    return instance, token


def api_tokens_of(*, user):
    """The user's live tokens, newest first."""
    return (AuthToken.objects.filter(user=user)
            .exclude(expiry__lt=timezone.now()).order_by("-created"))


@transaction.atomic
def api_token_revoke(*, user, token_key: str) -> bool:
    """Revoke one of the user's own tokens, by the public key knox shows (`token_key`, the
    first characters of the token). False when the user holds no such token."""
    deleted, _ = AuthToken.objects.filter(user=user, token_key=token_key).delete()
    if deleted:
        audit_record(actor=user, action="api_token.revoked", object_type="knox.authtoken",
                     object_id=token_key)
    return bool(deleted)


# --- Passwords and deactivation ---------------------------------------------------------

@transaction.atomic
def user_password_set(*, user, password: str | None, actor=None, validate: bool = True,
                      keep_session_key: str | None = None) -> None:
    """Set (or, with None, disable) a password after Django's validators, then end every
    API token and every other session of the user."""
    if password is not None:
        if validate:
            try:
                password_validation.validate_password(password, user)
            except ValidationError as exc:
                raise InvalidInput(" ".join(exc.messages), {"password": exc.messages})
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save(update_fields=["password"])
    tokens = api_tokens_end(user=user)
    sessions = sessions_end(user=user, keep_session_key=keep_session_key)
    audit_record(actor=actor, action="user.password_set", object_type="auth.user",
                 object_id=str(user.pk), detail={"tokens_ended": tokens,
                                                 "sessions_ended": sessions})


@transaction.atomic
def user_deactivate(*, user, actor=None) -> None:
    """is_active=False, and every API token and session of the user ends."""
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    tokens = api_tokens_end(user=user)
    sessions = sessions_end(user=user)
    audit_record(actor=actor, action="user.deactivated", object_type="auth.user",
                 object_id=str(user.pk), detail={"tokens_ended": tokens,
                                                 "sessions_ended": sessions})


# --- Second factor ----------------------------------------------------------------------

def recovery_code_digest(code: str) -> str:
    """What is stored for a recovery code: HMAC-SHA256 under SECRET_KEY of the code as typed
    without spaces or dashes, cut to the 16 characters django-otp's static token holds.
    A database reader cannot turn it back into a code."""
    normalised = "".join(code.split()).replace("-", "").lower()
    mac = hmac.new(settings.SECRET_KEY.encode(), normalised.encode(), hashlib.sha256)
    return mac.hexdigest()[:16]


def _new_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


@transaction.atomic
def recovery_codes_create(*, user, actor=None) -> list[str]:
    """Replace the user's recovery codes with fresh ones; the codes are returned once to be
    shown, and only their digests are stored."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [_new_code() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(
        [StaticToken(device=device, token=recovery_code_digest(c)) for c in codes])
    audit_record(actor=actor or user, action="2fa.recovery_codes_created",
                 object_type="auth.user", object_id=str(user.pk))
    return codes


def recovery_codes_left(*, user) -> int:
    return StaticToken.objects.filter(device__user=user).count()


@transaction.atomic
def two_factor_enrol(*, user, device: TOTPDevice,
                     keep_session_key: str | None = None) -> list[str]:
    """Confirm a TOTP device the user has just proven with a code. It replaces any earlier
    device; recovery codes are issued afresh and returned to be shown once. The user's other
    sessions end: they were opened before the second factor existed."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    replaced, _ = TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = recovery_codes_create(user=user)
    sessions_end(user=user, keep_session_key=keep_session_key)
    audit_record(actor=user, action="2fa.enrolled", object_type="auth.user",
                 object_id=str(user.pk), detail={"replaced": bool(replaced)})
    return codes


def _is_verified(user) -> bool:
    # OTPMiddleware gives the request's user `is_verified`; any other User object is not.
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


@transaction.atomic
def two_factor_reset(*, user, actor, keep_session_key: str | None = None) -> None:
    """Remove every second-factor device and recovery code of `user` and end their
    sessions (but `keep_session_key`, the caller's own when resetting their own), so their
    next log-in starts enrolment afresh.

    An admin may reset anyone else's; a person may reset their own only from a session that
    has passed its second factor (a password alone never removes a second factor)."""
    if actor.pk == user.pk:
        if not _is_verified(actor):
            raise NotAllowed("Verify your second factor before removing it.")
    elif not roles.has_role(actor, roles.ADMIN):
        raise NotAllowed("Only an admin can reset another person's second factor.")
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    sessions = sessions_end(user=user, keep_session_key=keep_session_key)
    audit_record(actor=actor, action="2fa.reset", object_type="auth.user",
                 object_id=str(user.pk), detail={"sessions_ended": sessions})
    log.info("second factor reset for user %s by user %s", user.pk, actor.pk)
