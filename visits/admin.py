from django.contrib import admin

from .models import Attendance, Enrolment, GroupSeries, GroupSession


class SessionInline(admin.TabularInline):
    model = GroupSession
    fields = ("starts_at", "duration_minutes", "status", "lead_clinician")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(GroupSeries)
class GroupSeriesAdmin(admin.ModelAdmin):
    """Read-mostly: enrolments, capacity and cancellations go through the Group visits
    pages, whose services keep the waitlist, reminders and audit trail right."""

    list_display = ("name", "service", "capacity", "lead_clinician", "completed_at", "created_at")
    list_filter = ("service",)
    search_fields = ("name",)
    readonly_fields = ("service", "capacity", "completed_at", "created_at")
    inlines = [SessionInline]


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ("series", "patient_id", "status", "waitlist_seq", "enrolled_at")
    list_filter = ("status",)
    raw_id_fields = ("series", "patient")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Attendance)
class AttendanceAdmin(admin.ModelAdmin):
    list_display = ("session", "patient_id", "status", "marked_by", "marked_at")
    list_filter = ("status",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
