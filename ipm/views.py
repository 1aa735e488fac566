from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import ListView

from . import roles
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


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class AuditTrailView(roles.RoleRequiredMixin, ListView):
    """Admins browse the audit trail, filtered by patient id."""

    roles = (roles.ADMIN,)
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
