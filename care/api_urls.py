from django.urls import path

from . import api

urlpatterns = [
    path("patients/<int:pk>/step/", api.PatientStepApi.as_view(), name="api-patient-step"),
    path("patients/<int:pk>/contacts/", api.PatientContactsApi.as_view(),
         name="api-patient-contacts"),
    path("patients/<int:pk>/goals/", api.PatientGoalsApi.as_view(), name="api-patient-goals"),
    path("goals/<int:pk>/", api.GoalApi.as_view(), name="api-goal"),
    path("billing/", api.BillingExportApi.as_view(), name="api-billing"),
    path("billing-codes/", api.BillingCodeListApi.as_view(), name="api-billing-codes"),
]
