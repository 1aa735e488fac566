from django.urls import path

from . import views

app_name = "reminders"

urlpatterns = [
    path("", views.OutboxView.as_view(), name="outbox"),
    path("<int:pk>/resend/", views.resend, name="resend"),
    path("stop/<str:token>/", views.stop, name="stop"),
]
