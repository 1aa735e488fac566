"""Care pages, mounted at /care/ by ipm/urls.py."""

from django.urls import path

from . import views

app_name = "care"

urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("patients/<int:pk>/contacts/", views.contact_new, name="contact-new"),
    path("patients/<int:pk>/step/", views.step_new, name="step-new"),
    path("patients/<int:pk>/goals/", views.goal_new, name="goal-new"),
    path("patients/<int:pk>/psfs-link/", views.psfs_link_new, name="psfs-link-new"),
    path("goals/<int:pk>/status/", views.goal_status, name="goal-status"),
    path("billing/", views.billing_page, name="billing"),
    path("billing.csv", views.billing_csv, name="billing-csv"),
]
