from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import two_factor, views
from .api_auth import ApiTokenListApi, ApiTokenRevokeApi, ObtainTokenApi

api_patterns = [
    path("auth/token/", ObtainTokenApi.as_view(), name="api-token"),
    path("auth/tokens/", ApiTokenListApi.as_view(), name="api-token-list"),
    path("auth/tokens/<str:token_key>/", ApiTokenRevokeApi.as_view(), name="api-token-detail"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("patients.api_urls")),
    path("", include("clinic.api_urls")),
    path("", include("outcomes.api_urls")),
    path("", include("referrals.api_urls")),
    path("", include("visits.api_urls")),
    path("", include("reminders.api_urls")),
    path("", include("appointments.api_urls")),
    path("", include("metrics.api_urls")),
    path("", include("care.api_urls")),
    path("", include("team.api_urls")),
    path("", include("fhir_api.api_urls")),
    # Anything else under /api/ is a JSON 404, also with DEBUG on.
    re_path(r"^.*$", views.api_not_found),
]

urlpatterns = [
    path("", include("clinic.urls")),  # the home page and the patient pages
    path("healthz", views.healthz, name="healthz"),
    path("livez", views.livez, name="livez"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/", views.account, name="account"),
    path("accounts/tokens/<str:token_key>/revoke/", views.api_token_revoke,
         name="api-token-revoke"),
    path("accounts/2fa/setup/", two_factor.setup, name="two-factor-setup"),
    path("accounts/2fa/verify/", two_factor.verify, name="two-factor-verify"),
    path("accounts/2fa/recovery-codes/", two_factor.recovery_codes,
         name="two-factor-recovery-codes"),
    path("accounts/2fa/disable/", two_factor.disable, name="two-factor-disable"),
    path("accounts/2fa/reset/<int:user_id>/", two_factor.reset, name="two-factor-reset"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", views.AuditTrailView.as_view(), name="audit-trail"),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("fhir/", include("fhir_api.urls")),
    path("referrals/", include("referrals.urls")),
    path("groups/", include("visits.urls")),
    path("", include("outcomes.urls")),
    path("reminders/", include("reminders.urls")),
    path("appointments/", include("appointments.urls")),
    path("metrics/", include("metrics.urls")),
    path("care/", include("care.urls")),
    path("team/", include("team.urls")),
]

handler403 = "ipm.views.permission_denied"
handler404 = "ipm.views.page_not_found"
handler500 = "ipm.views.server_error"
