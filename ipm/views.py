from django.conf import settings
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.generic import ListView
from django_otp import user_has_device

from . import accounts, roles
from .api_auth import USERNAME_MAX_LENGTH
from .celery import app
from .models import AuditEvent


@login_not_required
def livez(request):
    """Liveness: the process answers (no database). Also the benchmark's floor view."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
def healthz(request):
    """Database and broker reachable, as JSON, for load balancers and compose healthchecks."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report any failure as unhealthy
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["broker"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if ok else "error", **checks}, status=200 if ok else 503)


class UsernameLengthMixin:
    """Refuse an over-long username before authentication runs (Django's login forms set
    the length on the widget only, and django-axes would fail to record the attempt)."""

    def clean_username(self):
        username = self.cleaned_data["username"]
        if len(username) > USERNAME_MAX_LENGTH:
            raise ValidationError(f"A username has at most {USERNAME_MAX_LENGTH} characters.",
                                  code="max_length")
        return username


class LoginForm(UsernameLengthMixin, AuthenticationForm):
    pass


class AdminLoginForm(UsernameLengthMixin, AdminAuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    form_class = LoginForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error("username"):
            response.status_code = 400  # malformed input, not wrong credentials
        return response


@never_cache
def account(request):
    """One's own account: second factor (set up, replace, recovery codes, turn off) and
    the API tokens one holds, each revocable."""
    user = request.user
    return render(request, "ipm/account.html", {
        "enrolled": user_has_device(user, confirmed=True),
        "codes_left": accounts.recovery_codes_left(user=user),
        "tokens": accounts.api_tokens_of(user=user),
        "two_factor_required": (settings.IPM_ADMIN_2FA_REQUIRED
                                and roles.has_role(user, roles.ADMIN)),
    })


@never_cache
@require_POST
def api_token_revoke(request, token_key):
    if accounts.api_token_revoke(user=request.user, token_key=token_key):
        messages.success(request, "API token revoked.")
    else:
        messages.error(request, "No such API token.")
    return redirect("account")


class AuditTrailView(roles.RoleRequiredMixin, ListView):
    """Admins browse the audit trail, filtered by patient id."""

    permission = "audit.view"
    template_name = "ipm/audit_trail.html"
    paginate_by = 50

    def get_queryset(self):
        qs = AuditEvent.objects.all()
        patient = self.request.GET.get("patient", "").strip()
        if patient.isdigit():
            qs = qs.filter(patient_id=int(patient))
        return qs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["patient"] = self.request.GET.get("patient", "")
        return ctx


@csrf_exempt
@login_not_required
def api_not_found(request, *args, **kwargs):
    return JsonResponse({"message": "Not found.", "detail": "Not found.", "errors": {}},
                        status=404)


def _wants_json(request) -> bool:
    return request.path.startswith(("/api/", "/fhir/")) or "json" in request.headers.get(
        "Accept", "")


def permission_denied(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"message": "Forbidden.", "detail": "Forbidden.", "errors": {}},
                            status=403)
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"message": "Not found.", "detail": "Not found.", "errors": {}},
                            status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    if _wants_json(request):
        return JsonResponse({"message": "Server error.", "detail": "Server error.",
                             "errors": {}}, status=500)
    return render(request, "500.html", {"debug": settings.DEBUG}, status=500)
