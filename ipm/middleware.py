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
        from django_otp import user_has_device

        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and not user.is_verified()
                and not request.path_info.startswith(self.OPEN_PREFIXES)):
            from . import roles

            has_device = user_has_device(user, confirmed=True)
            must = has_device or (settings.IPM_ADMIN_2FA_REQUIRED and roles.has_role(user, roles.ADMIN))
            if must:
                target = "two-factor-verify" if has_device else "two-factor-setup"
                return redirect(f"{_reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)


def _reverse(name):
    from django.urls import reverse

    return reverse(name)
