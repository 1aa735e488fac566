from django.urls import path

from . import api

urlpatterns = [
    path("patients/<int:pk>/letters/<str:kind>/", api.LetterApi.as_view(), name="api-letter"),
    path("letters/", api.LettersBatchApi.as_view(), name="api-letters-batch"),
    path("exports/cohort/", api.CohortExportApi.as_view(), name="api-export-cohort"),
    path("exports/<uuid:pk>/", api.ExportJobApi.as_view(), name="api-export"),
    path("exports/<uuid:pk>/files/<str:name>/", api.ExportFileApi.as_view(),
         name="api-export-file"),
]
