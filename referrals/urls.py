from django.urls import path

from . import views

app_name = "referrals"

urlpatterns = [
    path("", views.ReferralQueueView.as_view(), name="queue"),
    path("new/", views.ReferralCreateView.as_view(), name="create"),
    path("bulk/", views.referral_bulk_view, name="bulk"),
    path("<int:pk>/", views.ReferralDetailView.as_view(), name="detail"),
    path("<int:pk>/transition/", views.referral_transition_view, name="transition"),
    path("<int:pk>/assign/", views.referral_assign_view, name="assign"),
    path("<int:pk>/mdt-request/", views.referral_request_mdt_view, name="request-mdt"),
    path("mdt/", views.MdtIndexView.as_view(), name="mdt"),
    path("mdt/new/", views.mdt_meeting_create_view, name="mdt-create"),
    path("mdt/agenda/", views.mdt_agenda_add_view, name="mdt-agenda-add"),
    path("mdt/agenda/<int:pk>/remove/", views.mdt_agenda_remove_view, name="mdt-agenda-remove"),
    path("mdt/agenda/<int:pk>/decision/", views.mdt_decision_view, name="mdt-decision"),
    path("mdt/<int:pk>/", views.MdtMeetingView.as_view(), name="mdt-meeting"),
    path("mdt/<int:pk>/attendees/", views.mdt_attendee_add_view, name="mdt-attendee-add"),
    path("mdt/attendees/<int:pk>/remove/", views.mdt_attendee_remove_view,
         name="mdt-attendee-remove"),
]
