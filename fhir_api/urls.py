"""FHIR R4 API: ``/fhir/metadata``, ``/fhir/<Type>`` (search; ``POST`` for ServiceRequest),
``/fhir/<Type>/<id>``, ``POST /fhir/`` (transaction), ``Patient/<id>/$everything`` and the
Bulk Data export (``$export``, ``Patient/$export``, status and file URLs)."""

from django.urls import path, re_path

from . import operations, views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.MetadataView.as_view(), name="metadata"),
    re_path(r"^$", operations.TransactionView.as_view(), name="transaction"),
    re_path(r"^\$export$", operations.ExportKickoffView.as_view(), {"level": "system"},
            name="export"),
    re_path(r"^Patient/\$export$", operations.ExportKickoffView.as_view(),
            {"level": "patient"}, name="patient-export"),
    re_path(r"^\$export-status/(?P<job>[0-9a-f-]{36})$", operations.ExportStatusView.as_view(),
            name="export-status"),
    re_path(r"^\$export-file/(?P<job>[0-9a-f-]{36})/(?P<name>[A-Za-z]+\.ndjson)$",
            operations.ExportFileView.as_view(), name="export-file"),
    re_path(r"^Patient/(?P<id>[^/]+)/\$everything$", operations.EverythingView.as_view(),
            name="patient-everything"),
]
for _type, (_read, _search) in views.RESOURCE_VIEWS.items():
    if _search is not None:
        urlpatterns.append(re_path(rf"^{_type}/?$", _search.as_view(),
                                   name=f"{_type.lower()}-search"))
    urlpatterns.append(re_path(rf"^{_type}/(?P<id>[^/]+)$", _read.as_view(),
                               name=f"{_type.lower()}-read"))
urlpatterns.append(re_path(r"^(?P<path>.*)$", views.UnknownView.as_view(), name="unknown"))
