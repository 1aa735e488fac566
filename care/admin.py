"""Configuration: the billing-code table is the program's to edit (defaults seeded from
CMS MLN909432 / MLN909188). Every change is audited."""

from django.contrib import admin

from ipm.audit import audit_record

from .models import BillingCode


@admin.register(BillingCode)
class BillingCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "family", "program", "month", "min_minutes", "covers_minutes",
                    "min_additional_minutes", "unit_minutes", "max_units", "active")
    list_editable = ("min_minutes", "covers_minutes", "min_additional_minutes", "unit_minutes",
                     "max_units", "active")
    list_filter = ("family", "program", "active")
    search_fields = ("code", "description")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(request=request, actor=request.user, action="update" if change else "create",
                     obj=obj, detail={"fields": list(form.changed_data)})

    def delete_model(self, request, obj):
        audit_record(request=request, actor=request.user, action="delete", obj=obj,
                     detail={"code": obj.code})
        super().delete_model(request, obj)
