from django.urls import path

from . import api

urlpatterns = [
    path("instruments/", api.InstrumentListApi.as_view(), name="api-instruments"),
    path("instruments/<str:code>/", api.InstrumentDetailApi.as_view(), name="api-instrument"),
    path("responses/", api.ResponseCreateApi.as_view(), name="api-responses"),
    path("patients/<int:pk>/responses/", api.PatientResponsesApi.as_view(),
         name="api-patient-responses"),
    path("patients/<int:pk>/questionnaire-links/", api.QuestionnaireLinkCreateApi.as_view(),
         name="api-questionnaire-links"),
    path("alerts/", api.AlertListApi.as_view(), name="api-alerts"),
    path("alerts/<int:pk>/", api.AlertDetailApi.as_view(), name="api-alert"),
    path("alerts/<int:pk>/acknowledge/", api.AlertAcknowledgeApi.as_view(),
         name="api-alert-acknowledge"),
]
