from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Every page requires login (Django 5.1's middleware), except views marked
    `login_not_required`. The API and FHIR authenticate themselves (token or session) and
    answer 401 in JSON instead of redirecting to the login page."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith(("/api/", "/fhir/")):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class TwoFactorMiddleware:
    """Pages need a verified second factor (TOTP) for admins when IPM_ADMIN_2FA_REQUIRED,
    and for anyone who has enrolled a device. Until verified, a session reaches only the
    two-factor pages, logout and static files. API tokens are separate credentials and
    are not affected (see README: Security)."""

    OPEN_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/accounts/login/", "/static/",
                     "/healthz", "/api/", "/fhir/", "/q/", "/reminders/stop/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.shortcuts import redirect

        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and not user.is_verified()
                and not request.path_info.startswith(self.OPEN_PREFIXES)):
            from . import roles

            # Whether the user has enrolled a device is remembered in the session at login
            # (enrolment itself verifies the session), saving a query on every page.
            has_device = request.session.get("ipm_otp_enrolled")
            if has_device is None:
                has_device = remember_otp_enrolment(request=request, user=user)
            must = has_device or (settings.IPM_ADMIN_2FA_REQUIRED and roles.has_role(user, roles.ADMIN))
            if must:
                target = "two-factor-verify" if has_device else "two-factor-setup"
                return redirect(f"{_reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)


class IntegrationOnlyMiddleware:
    """Service accounts (the integration role alone) can read nothing: every page is 403 to
    them; the API and FHIR refuse them through their permission classes (ipm.roles)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            from django.core.exceptions import PermissionDenied

            from . import roles

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
        if b"\x00" in body or b"\\u0000" in body:
            return True
        return (request.content_type == "application/x-www-form-urlencoded"
                and b"%00" in body)


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
