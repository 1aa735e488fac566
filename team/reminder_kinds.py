"""The reminder kind team schedules (registered by team.apps):

- staff_invite: "user" / User.pk / offset = when it was queued in ms (a re-sent invite is a
  new row), recipient_user = the invitee (team.services.staff_invite). A staff-directed
  email with a single-use link to set a password; eligible while the person is active and
  has not set a password yet. The link is made at send time with Django's
  PasswordResetTokenGenerator, so it stops working once the password is set (single use)
  and after PASSWORD_RESET_TIMEOUT; the token is never stored.
"""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from patients.models import Program
from reminders.kinds import Kind, absolute
from reminders.models import Reminder

KIND = Reminder.Kind.STAFF_INVITE


def invite_path(user) -> str:
    """/team/invite/<uidb64>.<token>/: base64url and Django's token never hold a dot."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("team:set-password", kwargs={"token": f"{uid}.{token}"})


class StaffInviteKind(Kind):
    code = KIND
    subject = "You are invited to IPM: choose your password"

    def eligibility(self, row, data, now):
        user = row.recipient_user
        if user is None or not user.is_active or user.has_usable_password():
            return Reminder.Reason.NO_LONGER_NEEDED
        return ""

    def context(self, row, data, now):
        user = row.recipient_user
        return {"url": absolute(invite_path(user)), "username": user.username,
                "inviter": "Your program administrator", "program_name": Program.default().name,
                "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)}
