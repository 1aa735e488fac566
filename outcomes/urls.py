"""Outcomes pages, mounted at the site root by ipm/urls.py."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from . import api, views

app_name = "outcomes"

urlpatterns = [
    # The page and its JSON twin; the DRF class documents it in the OpenAPI schema.
    path("q/<str:token>/", login_not_required(api.QuestionnaireLinkApi.as_view()),
         name="questionnaire"),
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
    path("worklist/", views.worklist, name="worklist"),
    path("patients/<int:pk>/trends/", views.patient_trends_page, name="patient-trends"),
    path("patients/<int:pk>/responses/new/", views.response_new, name="response-new"),
    path("patients/<int:pk>/medications/new/", views.medication_review_new,
         name="medication-review-new"),
    path("patients/<int:pk>/questionnaire-links/new/", views.questionnaire_link_new,
         name="questionnaire-link-new"),
]
