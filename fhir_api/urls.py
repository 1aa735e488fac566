"""FHIR R4 read API: ``/fhir/metadata``, ``/fhir/<Type>`` (search), ``/fhir/<Type>/<id>``."""

from django.urls import path, re_path

from . import views

app_name = "fhir"

urlpatterns = [path("metadata", views.MetadataView.as_view(), name="metadata")]
for _type, (_read, _search) in views.RESOURCE_VIEWS.items():
    urlpatterns += [
        re_path(rf"^{_type}/?$", _search.as_view(), name=f"{_type.lower()}-search"),
        re_path(rf"^{_type}/(?P<id>[^/]+)$", _read.as_view(), name=f"{_type.lower()}-read"),
    ]
urlpatterns.append(re_path(r"^(?P<path>.*)$", views.UnknownView.as_view(), name="unknown"))
