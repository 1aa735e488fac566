"""Reminders API (docs/product.md §4): `GET /api/reminders/?patient=&status=&kind=&reason=` lists
outbox rows; `POST /api/reminders/{id}/resend/` puts a failed or cancelled row back to
pending. Clinicians and coordinators; admins see aggregates only (403)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ipm.api import ErrorSerializer
from ipm.audit import AuditedReadMixin
from ipm.roles import HasRole

from . import selectors, services
from .filters import ReminderFilter
from .models import Reminder


class ReminderOutputSerializer(serializers.ModelSerializer):
    reason = serializers.ChoiceField(
        choices=Reminder.Reason.choices, allow_null=True, read_only=True,
        help_text="Why the reminder was not sent; null while nothing went wrong.")

    class Meta:
        model = Reminder
        fields = ["id", "key", "kind", "patient", "channel", "scheduled_for", "status",
                  "reason", "attempts", "last_error", "provider_message_id", "sent_at"]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["reason"] = instance.reason or None  # blank in the table, null on the wire
        return data


@extend_schema(
    tags=["reminders"],
    responses={200: ReminderOutputSerializer(many=True), 400: ErrorSerializer,
               403: ErrorSerializer},
)
class ReminderListApi(AuditedReadMixin, generics.ListAPIView):
    """The reminders outbox, newest schedule first, paginated."""

    permission_classes = [HasRole]
    permission = "reminder.view"
    serializer_class = ReminderOutputSerializer
    filterset_class = ReminderFilter
    audit_object_type = "reminders.reminder"

    def get_queryset(self):
        return selectors.reminder_list()


class ReminderResendApi(APIView):
    """Put a failed or cancelled reminder back to pending (attempts reset, audited);
    409 for any other status."""

    permission_classes = [HasRole]
    permission = "reminder.resend"

    @extend_schema(tags=["reminders"], request=None,
                   responses={200: ReminderOutputSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request, pk: int):
        row = get_object_or_404(Reminder, pk=pk)
        row = services.reminder_resend(reminder=row, actor=request.user)
        return Response(ReminderOutputSerializer(row).data)
