from django.urls import path

from . import views

app_name = "patients"
urlpatterns = [
    path("", views.PatientListView.as_view(), name="list"),
    path("intake/", views.intake_wizard, name="intake-new"),
    path("<int:pk>/", views.PatientDetailView.as_view(), name="detail"),
    path("<int:pk>/intake/", views.intake_wizard, name="intake"),
    path("<int:pk>/pathway/", views.decide_pathway, name="pathway"),
    path("<int:pk>/care-team/", views.care_team, name="care-team"),
    path("<int:patient_pk>/intakes/<int:pk>/", views.IntakeResultView.as_view(),
         name="intake-result"),
    path("<int:patient_pk>/intakes/<int:pk>/referrals/", views.create_suggested_referral,
         name="intake-referral"),
]
