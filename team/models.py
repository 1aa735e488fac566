from django.conf import settings
from django.db import models


class StaffProfile(models.Model):
    """What the team needs about a staff member beyond django.contrib.auth's User: a phone
    for urgent notifications (safety alerts go by email and SMS, docs/product.md §6)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="staff_profile")
    phone = models.CharField(max_length=32, blank=True,
                             help_text="E.164, e.g. +447700900123: urgent alerts by SMS.")

    def __str__(self):
        return f"{self.user} ({self.phone or 'no phone'})"
