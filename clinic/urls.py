"""The home page, and the patient pages that compose several apps. They share the
`patients:` URL namespace with patients' own pages (list, pathway decision)."""

from django.urls import include, path

from patients import urls as patient_urls

from . import views

patient_pages = [
    *patient_urls.urlpatterns,
    path("intake/", views.intake_wizard, name="intake-new"),
    path("<int:pk>/", views.PatientDetailView.as_view(), name="detail"),
    path("<int:pk>/intake/", views.intake_wizard, name="intake"),
    path("<int:patient_pk>/intakes/<int:pk>/", views.IntakeResultView.as_view(),
         name="intake-result"),
    path("<int:patient_pk>/intakes/<int:pk>/referrals/", views.create_suggested_referral,
         name="intake-referral"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("patients/", include((patient_pages, patient_urls.app_name))),
]
