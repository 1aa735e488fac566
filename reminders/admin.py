from django.contrib import admin

from .models import Reminder


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    """Read-only view of the outbox: rows change only through reminders.services and the
    dispatcher (resend from the /reminders/ page)."""

    list_display = ("id", "kind", "status", "reason", "channel", "scheduled_for", "attempts",
                    "sent_at")
    list_filter = ("status", "kind", "reason", "channel")
    search_fields = ("=id", "key", "provider_message_id")
    date_hierarchy = "scheduled_for"
    raw_id_fields = ("patient", "recipient_user")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
