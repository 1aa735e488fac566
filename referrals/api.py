"""Referrals API (docs/product.md §4): thin views that validate input, call one service or selector,
and render. Clinicians and coordinators work with referrals; every role reads services;
admins get 403 on referrals (patient data)."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ipm import roles
from ipm.api import CappedPagination, ErrorSerializer
from ipm.audit import AuditedReadMixin
from patients.api import VisiblePatientField
from patients.scoping import visible

from . import selectors
from . import transitions as t
from .filters import SLA_BREACHED_HELP, ReferralQueueFilter
from .models import Referral, ReferralEvent, Service
from .services import referral_assign, referral_create, referral_transition

DAYS_WAITING_HELP = (
    "Whole days (24-hour periods, rounded down) from `referred_at` to the first visit, or to "
    "the closing of the referral if that came first, or else to now.")


# --- Serializers -------------------------------------------------------------------------

@extend_schema_field({"type": "string", "enum": list(t.STATES),
                      "description": "A referral state."}, component_name="ReferralState")
class ReferralStateField(serializers.ChoiceField):
    """A referral state, documented once as the `ReferralState` component."""

    def __init__(self, **kwargs):
        super().__init__(choices=Referral.Status.choices, **kwargs)


class ServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = ["code", "name", "discipline", "sla_triage_days", "sla_first_visit_days",
                  "is_group_based", "active"]


class ReferralInputSerializer(serializers.Serializer):
    patient = VisiblePatientField(help_text="Patient id.")
    service = serializers.SlugRelatedField(slug_field="code",
                                           queryset=Service.objects.filter(active=True),
                                           help_text="Service code, e.g. `physio`.")
    reason = serializers.CharField(help_text="Why the person is referred.")
    priority = serializers.ChoiceField(choices=Referral.Priority.choices,
                                       default=Referral.Priority.ROUTINE)


class ReferralOutputSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="patient_id", read_only=True)
    service = serializers.CharField(source="service.code", read_only=True,
                                    help_text="Service code.")
    assignee = serializers.IntegerField(source="assignee_id", read_only=True, allow_null=True,
                                        help_text="User id of the assignee, or null.")
    days_waiting = serializers.IntegerField(read_only=True, help_text=DAYS_WAITING_HELP)
    sla_breached = serializers.BooleanField(read_only=True, help_text=SLA_BREACHED_HELP)
    allowed_transitions = serializers.ListField(
        child=ReferralStateField(), read_only=True,
        help_text="States this referral may move to now.")

    class Meta:
        model = Referral
        fields = ["id", "patient", "service", "reason", "priority", "status", "assignee",
                  "referred_at", "days_waiting", "sla_breached", "needs_mdt", "triaged_at",
                  "scheduled_at", "first_visit_at", "closed_at", "status_reason",
                  "allowed_transitions", "source"]
        read_only_fields = fields
        extra_kwargs = {"source": {"help_text": "Who sent the referral in from another "
                                                "system (FHIR), blank if made here."}}


class ReferralEventSerializer(serializers.ModelSerializer):
    actor = serializers.IntegerField(source="actor_id", read_only=True, allow_null=True)
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = ReferralEvent
        fields = ["id", "from_status", "to_status", "note", "reason", "actor", "actor_name",
                  "at"]
        read_only_fields = fields

    def get_actor_name(self, event) -> str:
        if event.actor is None:
            return ""
        return event.actor.get_full_name() or event.actor.username


class ReferralDetailSerializer(ReferralOutputSerializer):
    events = ReferralEventSerializer(many=True, read_only=True,
                                     help_text="Every transition: who, when, from, to, note.")

    class Meta(ReferralOutputSerializer.Meta):
        fields = ReferralOutputSerializer.Meta.fields + ["events"]
        read_only_fields = fields


class ReferralTransitionInputSerializer(serializers.Serializer):
    to = ReferralStateField(help_text="The target state.")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="Required for `declined` and `cancelled` (a note alone also serves).")

    def get_fields(self):
        fields = super().get_fields()
        # `from` is a Python keyword, hence declared here.
        fields["from"] = ReferralStateField(
            required=False,
            help_text="Optional: the status you saw. If the referral has moved since, the "
                      "transition is refused with 409 instead of applied.")
        return fields


class ReferralAssignInputSerializer(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), allow_null=True,
        help_text="User id of an active clinician or coordinator, or null to unassign.")


# --- Views -------------------------------------------------------------------------------

_ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}

class PatientRolesMixin:
    permission_classes = [roles.HasRole]


class ReferralListCreateApi(PatientRolesMixin, AuditedReadMixin, generics.ListCreateAPIView):
    """The triage queue as JSON, and referring a patient to a service."""

    permission = {"GET": "referral.view", "POST": "referral.create"}
    serializer_class = ReferralOutputSerializer
    filterset_class = ReferralQueueFilter
    pagination_class = CappedPagination
    audit_object_type = "referrals.referral"

    def get_queryset(self):
        return selectors.referral_queue(user=self.request.user)

    @extend_schema(responses={200: ReferralOutputSerializer(many=True), **_ERRORS})
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(request=ReferralInputSerializer,
                   responses={201: ReferralOutputSerializer, **_ERRORS})
    def post(self, request, *args, **kwargs):
        data = ReferralInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        referral = referral_create(actor=request.user, **data.validated_data)
        out = ReferralOutputSerializer(selectors.referral_get(referral.pk, user=request.user))
        return Response(out.data, status=status.HTTP_201_CREATED)


class ReferralDetailApi(PatientRolesMixin, AuditedReadMixin, generics.RetrieveAPIView):
    """One referral with its history (`events`)."""

    permission = "referral.view"
    serializer_class = ReferralDetailSerializer
    audit_object_type = "referrals.referral"

    def get_queryset(self):
        return selectors.referrals_with_history(user=self.request.user)

    @extend_schema(responses={200: ReferralDetailSerializer, **_ERRORS})
    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)


class ReferralTransitionApi(PatientRolesMixin, APIView):
    """Move a referral through the state machine (docs/product.md §3.2).

    new → triaged → scheduled → in_treatment → discharged; new|triaged → declined (reason
    required); any non-final state → cancelled (reason required). Any other transition is
    refused with 409 and a message naming the allowed states; nothing changes."""

    permission = "referral.triage"

    @extend_schema(request=ReferralTransitionInputSerializer,
                   responses={200: ReferralOutputSerializer, 409: ErrorSerializer, **_ERRORS})
    def post(self, request, pk: int):
        get_object_or_404(visible(Referral.objects.all(), request.user), pk=pk)  # their sites'
        data = ReferralTransitionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        referral_transition(referral=pk, to=v["to"], note=v["note"], reason=v["reason"],
                            expected=v.get("from"), actor=request.user)
        return Response(ReferralOutputSerializer(selectors.referral_get(pk, user=request.user)).data)


class ReferralAssignApi(PatientRolesMixin, APIView):
    """Assign a referral to a clinician or coordinator, or unassign it with null."""

    permission = "referral.triage"

    @extend_schema(request=ReferralAssignInputSerializer,
                   responses={200: ReferralOutputSerializer, 409: ErrorSerializer, **_ERRORS})
    def post(self, request, pk: int):
        get_object_or_404(visible(Referral.objects.all(), request.user), pk=pk)  # their sites'
        data = ReferralAssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        referral_assign(referral=pk, assignee=data.validated_data["assignee"],
                        actor=request.user)
        return Response(ReferralOutputSerializer(selectors.referral_get(pk, user=request.user)).data)


class ServiceListApi(generics.ListAPIView):
    """The MDT service catalogue with its SLA targets (readable by every role)."""

    permission_classes = [roles.HasRole]
    permission = "reference.view"
    serializer_class = ServiceSerializer
    queryset = Service.objects.order_by("name", "pk")

    @extend_schema(responses={200: ServiceSerializer(many=True), 403: ErrorSerializer})
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)
