from django.urls import path

from .api import ProgramMetricsApi

urlpatterns = [
    path("metrics/program/", ProgramMetricsApi.as_view(), name="api-metrics-program"),
]
