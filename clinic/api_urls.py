from django.urls import path

from .api import IntakeApi

urlpatterns = [
    path("patients/<int:pk>/intake/", IntakeApi.as_view(), name="api-patients-intake"),
]
