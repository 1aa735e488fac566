from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.core.exceptions import PermissionDenied

from . import roles


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Every page requires login (Django 5.1's middleware), except views marked
    `login_not_required`. The API and FHIR authenticate themselves (token or session) and
    answer 401 in JSON instead of redirecting to the login page."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith(("/api/", "/fhir/")):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class TwoFactorMiddleware:
    """Pages need a verified second factor (TOTP or a recovery code) for admins when
    IPM_ADMIN_2FA_REQUIRED, and for anyone who has enrolled a device. Until verified, a
    session reaches only the verify page (or, with no device yet, the setup page), logout
    and the login-free pages; on the API and FHIR it counts as no session at all (401), so
    session authentication cannot go around the second factor. API tokens are separate
    credentials (see README: Security)."""

    # Exact paths: every other /accounts/2fa/ page needs a verified session.
    OPEN_PATHS = ("/accounts/2fa/verify/", "/accounts/2fa/setup/", "/accounts/logout/",
                  "/accounts/login/", "/healthz", "/livez")
    # Login-free pages for patients (link tokens) and static files.
    OPEN_PREFIXES = ("/static/", "/q/", "/reminders/stop/")
    SESSION_AUTH_PREFIXES = ("/api/", "/fhir/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        path = request.path_info
        if (user is not None and user.is_authenticated and not user.is_verified()
                and path not in self.OPEN_PATHS and not path.startswith(self.OPEN_PREFIXES)):
            has_device = self._has_device(request, user)
            if has_device or self._required(user):
                if path.startswith(self.SESSION_AUTH_PREFIXES):
                    from django.contrib.auth.models import AnonymousUser

                    request.user = AnonymousUser()
                else:
                    target = "two-factor-verify" if has_device else "two-factor-setup"
                    return redirect_with_next(request, _reverse(target))
        return self.get_response(request)

    @staticmethod
    def _has_device(request, user) -> bool:
        # Whether the user has enrolled a device is remembered in the session at login,
        # saving a query on every page; enrolment ends the user's other sessions, and
        # enrolment and reset update the session that made them, so it cannot go stale.
        has_device = request.session.get("ipm_otp_enrolled")
        if has_device is None:
            has_device = remember_otp_enrolment(request=request, user=user)
        return has_device

    @staticmethod
    def _required(user) -> bool:
        from django.conf import settings

        return settings.IPM_ADMIN_2FA_REQUIRED and roles.has_role(user, roles.ADMIN)


def redirect_with_next(request, url):
    from django.shortcuts import redirect
    from django.utils.http import urlencode

    return redirect(f"{url}?{urlencode({'next': request.get_full_path()})}")


class IntegrationOnlyMiddleware:
    """Service accounts (the integration role alone) can read nothing: every page is 403 to
    them; the API and FHIR refuse them through their permission classes (ipm.roles)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if (roles.is_integration_only(user)
                    and not roles.integration_may_call(request.method, request.path_info)):
                raise PermissionDenied("Service accounts can only send referrals.")
        return self.get_response(request)


def _reverse(name):
    from django.urls import reverse

    return reverse(name)


class RejectNulMiddleware:
    """PostgreSQL text cannot hold NUL (0x00): an API query or body carrying one would fail
    deep inside a lookup as a 500. Refuse it up front in the API's error shape: 400 for a
    query or body, 404 for a path (no such resource can exist)."""

    MESSAGE = "Input must not contain NUL (\\u0000) characters."

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            from django.http import JsonResponse

            from .api import error_body

            if "\x00" in request.path_info:
                return JsonResponse(error_body("Not found."), status=404)
            if self._in_query(request) or self._in_body(request):
                return JsonResponse(error_body(self.MESSAGE), status=400)
        return self.get_response(request)

    @staticmethod
    def _in_query(request) -> bool:
        query = request.META.get("QUERY_STRING", "")
        return "\x00" in query or "%00" in query

    @staticmethod
    def _in_body(request) -> bool:
        from django.conf import settings

        if request.method not in ("POST", "PUT", "PATCH"):
            return False
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        if not length or length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return False  # Django refuses oversized bodies itself
        body = request.body
        if b"\x00" in body:
            return True
        content_type = request.content_type or ""
        if content_type == "application/json" or content_type.endswith("+json"):
            return b"\\u0000" in body  # JSON's escape of NUL; elsewhere it is six characters
        return content_type == "application/x-www-form-urlencoded" and b"%00" in body


def remember_otp_enrolment(sender=None, request=None, user=None, **kwargs) -> bool:
    """user_logged_in receiver: note in the session whether the user has a TOTP device."""
    from django_otp import user_has_device

    enrolled = user_has_device(user, confirmed=True)
    if request is not None and hasattr(request, "session"):
        request.session["ipm_otp_enrolled"] = enrolled
    return enrolled


class ApiAppendSlashMiddleware:
    """`POST /api/patients` behaves as `POST /api/patients/`: API clients are not browsers,
    so instead of a redirect (which turns a POST into a GET, or a 500 under DEBUG) the
    missing slash is added before URL resolution when the slashed path exists."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith("/api/") and not path.endswith("/"):
            from django.urls import Resolver404, resolve

            try:
                resolve(path + "/")
            except Resolver404:
                pass
            else:
                request.path_info = path + "/"
                request.path = request.path + "/"
        return self.get_response(request)


class NoStoreMiddleware:
    """Responses that may carry patient data are never stored by a browser or a proxy
    (`Cache-Control: no-store`): every response to a signed-in person (pages, and the API
    once DRF has authenticated the token), anything under /api/ and /fhir/, and the
    patient's own link pages (/q/, the stop-reminders link). Static files never get here:
    WhiteNoise answers them before this middleware runs, and they stay cacheable."""

    PREFIXES = ("/api/", "/fhir/", "/q/", "/reminders/stop/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (getattr(user, "is_authenticated", False)
                or request.path_info.startswith(self.PREFIXES)):
            from django.utils.cache import add_never_cache_headers

            add_never_cache_headers(response)  # no-store, no-cache, private, max-age=0
        return response
