from django.contrib import admin

from .models import MetricSnapshot


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(admin.ModelAdmin):
    """Read-only: snapshots are written by the task; recompute from the dashboard."""

    list_display = ("period_start", "period_end", "service", "status", "progress", "trigger",
                    "computed_at")
    list_filter = ("status", "trigger", "service")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
