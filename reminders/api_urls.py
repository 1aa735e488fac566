from django.urls import path

from .api import ReminderListApi, ReminderResendApi

urlpatterns = [
    path("reminders/", ReminderListApi.as_view(), name="api-reminders"),
    path("reminders/<int:pk>/resend/", ReminderResendApi.as_view(), name="api-reminder-resend"),
]
