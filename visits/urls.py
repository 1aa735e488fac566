from django.urls import path

from . import views

app_name = "visits"

urlpatterns = [
    path("", views.series_list, name="series-list"),
    path("agenda/", views.agenda, name="agenda"),
    path("new/", views.series_create, name="series-create"),
    path("new/preview/", views.sessions_preview, name="sessions-preview"),
    path("<int:pk>/", views.series_detail, name="series-detail"),
    path("<int:pk>/patients/", views.patient_search, name="patient-search"),
    path("<int:pk>/enrol/", views.enrol, name="enrol"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/sessions/add/", views.sessions_add, name="sessions-add"),
    path("<int:pk>/capacity/", views.series_capacity, name="series-capacity"),
    path("<int:pk>/billing.csv", views.billing_csv, name="billing-csv"),
    path("sessions/<int:pk>/", views.attendance_sheet, name="attendance-sheet"),
    path("sessions/<int:pk>/attendance/", views.attendance_mark, name="attendance-mark"),
    path("sessions/<int:pk>/edit/", views.session_edit, name="session-edit"),
    path("sessions/<int:pk>/cancel/", views.session_cancel, name="session-cancel"),
]
