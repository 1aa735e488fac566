"""Reminders API (SPEC §4): `GET /api/reminders/?patient=&status=&kind=&reason=` lists
outbox rows; `POST /api/reminders/{id}/resend/` puts a failed or cancelled row back to
pending. Clinicians and coordinators; admins see aggregates only (403)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ipm import roles
from ipm.api import ErrorSerializer
from ipm.audit import AuditedReadMixin
from ipm.roles import HasRole

from . import selectors, services
from .models import Reminder


class ReminderFilterSerializer(serializers.Serializer):
    patient = serializers.IntegerField(required=False, min_value=1)
    status = serializers.ChoiceField(choices=Reminder.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Reminder.Kind.choices, required=False)
    reason = serializers.ChoiceField(choices=Reminder.Reason.choices, required=False)


class ReminderOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reminder
        fields = ["id", "key", "kind", "patient", "channel", "scheduled_for", "status",
                  "reason", "attempts", "last_error", "provider_message_id", "sent_at"]
        read_only_fields = fields


@extend_schema(
    tags=["reminders"],
    parameters=[
        OpenApiParameter("patient", int, description="Patient id."),
        OpenApiParameter("status", str, enum=Reminder.Status.values),
        OpenApiParameter("kind", str, enum=Reminder.Kind.values),
        OpenApiParameter("reason", str, enum=Reminder.Reason.values,
                         description="Why a reminder was not sent."),
    ],
    responses={200: ReminderOutputSerializer(many=True), 400: ErrorSerializer,
               403: ErrorSerializer},
)
class ReminderListApi(AuditedReadMixin, generics.ListAPIView):
    """The reminders outbox, newest schedule first, paginated."""

    permission_classes = [HasRole]
    allowed_roles = roles.PATIENT_ROLES
    serializer_class = ReminderOutputSerializer
    audit_object_type = "reminders.reminder"

    def get_queryset(self):
        params = ReminderFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.reminder_list(user=self.request.user, **params.validated_data)


class ReminderResendApi(APIView):
    """Put a failed or cancelled reminder back to pending (attempts reset, audited);
    409 for any other status."""

    permission_classes = [HasRole]
    allowed_roles = roles.PATIENT_ROLES

    @extend_schema(tags=["reminders"], request=None,
                   responses={200: ReminderOutputSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request, pk: int):
        row = get_object_or_404(selectors.visible_reminders(Reminder.objects.all(), request.user),
                                pk=pk)
        row = services.reminder_resend(reminder=row, actor=request.user)
        return Response(ReminderOutputSerializer(row).data)
