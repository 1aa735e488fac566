from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm

from . import accounts
from .models import AuditEvent
from .views import AdminLoginForm


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: audit rows are never added, changed or deleted through the admin."""

    list_display = ("at", "actor_username", "action", "object_type", "object_id", "patient_id", "ip")
    list_filter = ("action", "object_type")
    search_fields = ("actor_username", "object_id", "=patient_id")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Users: password changes and deactivation go through ipm.accounts ----------------------

class CredentialsPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "change password" form, saved through `user_password_set` so the
    user's API tokens and sessions end (the form has already run the validators)."""

    def save(self, commit=True):
        usable = self.cleaned_data.get("set_usable_password", True)
        password = self.cleaned_data["password1"] if usable else None
        accounts.user_password_set(user=self.user, password=password, validate=False)
        return self.user


class IpmUserAdmin(UserAdmin):
    change_password_form = CredentialsPasswordChangeForm

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            accounts.user_deactivate(user=obj, actor=request.user)


admin.site.login_form = AdminLoginForm  # same username length check as the login page

User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, IpmUserAdmin)
