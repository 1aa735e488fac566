"""Log-in lock-out (django-axes), on the login page and the token endpoint alike.

- Per username and address: AXES_FAILURE_LIMIT failures lock that pair (axes' own rule).
- Per address, across usernames (credential stuffing): IPM_LOGIN_ADDRESS_FAILURE_LIMIT
  failures from one address within the cool-off lock that address for every username.
  The count survives a successful log-in of one account from that address (axes resets
  only that account's row), so a valid account does not wipe the slate for the others.
- The address is ipm.net.client_address (AXES_CLIENT_IP_CALLABLE).
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import JsonResponse
from django.shortcuts import render

from .api import error_body

LOCKED_MESSAGE = "Too many failed log-in attempts: locked for a while."


class LockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None) -> int:
        failures = super().get_failures(request, credentials)
        address = getattr(request, "axes_ip_address", None)
        if address:
            attempts = AccessAttempt.objects.filter(ip_address=address)
            if settings.AXES_COOLOFF_TIME is not None:
                attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
            from_address = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            if from_address >= settings.IPM_LOGIN_ADDRESS_FAILURE_LIMIT:
                # Report "at the limit": axes compares with one limit for every rule.
                failures = max(failures, get_failure_limit(request, credentials))
        return failures


def lockout_response(request, original_response=None, credentials=None):
    """429 in the API's error shape for the API, the lock-out page otherwise."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(LOCKED_MESSAGE), status=429)
    return render(request, "registration/locked.html", status=429)
