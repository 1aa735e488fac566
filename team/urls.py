from django.urls import path

from . import views

app_name = "team"
urlpatterns = [
    path("", views.setup, name="setup"),
    path("program/", views.program_settings, name="program"),
    path("sites/", views.sites, name="sites"),
    path("staff/", views.staff_list, name="staff"),
    path("staff/<int:pk>/", views.staff_edit, name="staff-edit"),
    path("staff/<int:pk>/reset-2fa/", views.staff_reset_2fa, name="staff-reset-2fa"),
    path("staff/<int:pk>/invite/", views.staff_invite, name="staff-invite"),
    path("reassign/", views.reassign, name="reassign"),
    # One path segment, "<uidb64>.<token>", so log redaction masks it whole (ipm.redact).
    path("invite/<str:token>/", views.set_password, name="set-password"),
]
