from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="metrics-dashboard"),
    path("export.csv", views.export_csv, name="metrics-export"),
    path("snapshots/", views.snapshot_create, name="metrics-snapshot-create"),
    path("snapshots/<int:pk>/progress/", views.snapshot_progress, name="metrics-snapshot-progress"),
]
