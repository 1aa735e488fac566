from django.urls import path

from . import api

urlpatterns = [
    path("program/", api.ProgramApi.as_view(), name="api-program"),
    path("sites/", api.SiteListCreateApi.as_view(), name="api-sites"),
    path("staff/", api.StaffListCreateApi.as_view(), name="api-staff"),
    path("staff/<int:pk>/", api.StaffDetailApi.as_view(), name="api-staff-detail"),
    path("staff/<int:pk>/reset-2fa/", api.StaffTwoFactorResetApi.as_view(),
         name="api-staff-reset-2fa"),
    path("staff/<int:pk>/invite/", api.StaffInviteApi.as_view(), name="api-staff-invite"),
    path("staff/<int:pk>/reassign/", api.StaffReassignApi.as_view(), name="api-staff-reassign"),
]
