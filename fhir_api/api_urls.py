from django.urls import path

from . import api

urlpatterns = [
    path("patients/<int:pk>/letters/<str:kind>/", api.LetterApi.as_view(), name="api-letter"),
    path("letters/", api.LettersBatchApi.as_view(), name="api-letters-batch"),
    path("letters/<uuid:pk>/", api.LettersJobApi.as_view(), name="api-letters-job"),
    path("letters/<uuid:pk>/files/<str:name>/", api.LettersFileApi.as_view(),
         name="api-letters-file"),
    path("exports/cohort/", api.CohortExportApi.as_view(), name="api-export-cohort"),
    path("exports/cohort/<uuid:pk>/", api.ExportJobApi.as_view(), name="api-export-cohort-job"),
    path("exports/cohort/<uuid:pk>/files/<str:name>/", api.ExportFileApi.as_view(),
         name="api-export-cohort-file"),
]
