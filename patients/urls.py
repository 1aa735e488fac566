from django.urls import path

from . import views

# Mounted under /patients/ by clinic/urls.py, with the chart and intake pages.
app_name = "patients"
urlpatterns = [
    path("", views.PatientListView.as_view(), name="list"),
    path("<int:pk>/pathway/", views.decide_pathway, name="pathway"),
]
