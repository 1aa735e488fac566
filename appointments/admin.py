"""Read-only views in the Django admin: appointments, hours and leave change through the
pages and API (their services audit every change), never through the admin."""

from django.contrib import admin

from .models import Appointment, AttendanceReview, AvailabilityException, WeeklyAvailability


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "starts_at", "duration_minutes", "clinician", "service", "site",
                    "status"]
    list_filter = ["status", "mode", "service", "site"]
    list_select_related = ["clinician", "service", "site"]
    raw_id_fields = ["patient", "referral"]


@admin.register(WeeklyAvailability)
class WeeklyAvailabilityAdmin(ReadOnlyAdmin):
    list_display = ["clinician", "site", "weekday", "start_time", "end_time", "service"]
    list_filter = ["site", "weekday"]


@admin.register(AvailabilityException)
class AvailabilityExceptionAdmin(ReadOnlyAdmin):
    list_display = ["clinician", "starts_at", "ends_at", "reason", "site"]


@admin.register(AttendanceReview)
class AttendanceReviewAdmin(ReadOnlyAdmin):
    list_display = ["referral", "missed", "opened_at", "reviewed_at"]
