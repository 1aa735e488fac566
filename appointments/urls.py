from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "appointments"

urlpatterns = [
    path("", RedirectView.as_view(url="/appointments/week/", query_string=True), name="index"),
    path("week/", views.calendar_view, {"view": "week"}, name="week"),
    path("day/", views.calendar_view, {"view": "day"}, name="day"),
    path("new/", views.book_view, name="book"),
    path("<int:pk>/", views.appointment_view, name="detail"),
    path("<int:pk>/status/", views.status_view, name="status"),
    path("<int:pk>/note/", views.note_view, name="note"),
    path("reviews/<int:pk>/close/", views.review_close_view, name="review-close"),
    path("availability/", views.availability_view, name="availability"),
    path("feed/regenerate/", views.feed_regenerate_view, name="feed-regenerate"),
    path("feed/<str:token>.ics", views.feed_view, name="feed"),
]
