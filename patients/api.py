"""Patients API (docs/product.md §4): create, search, read, pathway decision. The intake
endpoint (POST /api/patients/{id}/intake/) composes several apps: clinic/api.py."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from ipm.api import ErrorSerializer
from ipm.audit import AuditedReadMixin
from ipm.roles import HasRole

from . import selectors, services
from .filters import PatientFilter
from .models import Pathway, Patient


class PatientSerializer(serializers.ModelSerializer):
    flags = serializers.ListField(child=serializers.CharField(), read_only=True,
                                  help_text="red_flag, not_improving, responder, mme_50, mme_90, "
                                            "stopped_reminders, open_safety_alert")
    preferred_channel = serializers.ChoiceField(choices=Patient.Channel.choices, required=False)
    consent_to_contact = serializers.BooleanField(required=False, default=False)
    timezone = serializers.CharField(required=False, help_text="IANA time zone, e.g. Europe/London; defaults to the program's.")
    risk_group = serializers.CharField(read_only=True, allow_blank=True, allow_null=True)
    pathway = serializers.CharField(read_only=True, allow_blank=True, allow_null=True)

    class Meta:
        model = Patient
        fields = ["id", "mrn", "given_name", "family_name", "birth_date", "sex", "email",
                  "phone", "preferred_channel", "consent_to_contact", "timezone", "clinician",
                  "intake_date", "risk_group", "pathway", "flags", "baseline_mme",
                  "current_mme", "created_at"]
        read_only_fields = ["id", "clinician", "intake_date", "baseline_mme", "current_mme",
                            "created_at"]
        # Uniqueness is checked by the service (409), not by the serializer (400).
        validators: list = []
        extra_kwargs = {"mrn": {"validators": []}, "sex": {"required": False}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["risk_group"] = instance.risk_group or None
        data["pathway"] = instance.pathway or None
        return data


class PathwayDecisionInputSerializer(serializers.Serializer):
    pathway = serializers.ChoiceField(choices=Pathway.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema(tags=["patients"])
class PatientViewSet(AuditedReadMixin, mixins.CreateModelMixin, mixins.ListModelMixin,
                     mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Patients. Clinicians and coordinators; admins see aggregates only (403)."""

    serializer_class = PatientSerializer
    permission_classes = [HasRole]
    # The same permissions as the pages: intake, pathway and registration are clinicians'.
    permission = {"list": "patient.view", "retrieve": "patient.view",
                  "create": "patient.register", "partial_update": "patient.register",
                  "pathway": "patient.pathway"}
    filterset_class = PatientFilter
    audit_object_type = "patients.patient"
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.patient_list()

    def filter_queryset(self, queryset):
        # The list's parameters are PatientFilter's (django-filter); one patient is found
        # by id alone, whatever the query string says.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    @extend_schema(responses={201: PatientSerializer, 400: ErrorSerializer, 409: ErrorSerializer})
    def create(self, request, *args, **kwargs):
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        patient = services.patient_create(actor=request.user, **ser.validated_data)
        return Response(self.get_serializer(selectors.patient_get(patient.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: PatientSerializer, 400: ErrorSerializer, 409: ErrorSerializer})
    def partial_update(self, request, *args, **kwargs):
        patient = self.get_object()
        ser = self.get_serializer(patient, data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        services.patient_update(patient=patient, actor=request.user, **ser.validated_data)
        return Response(self.get_serializer(selectors.patient_get(patient.pk)).data)

    @extend_schema(request=PathwayDecisionInputSerializer,
                   responses={200: PatientSerializer, 400: ErrorSerializer})
    @action(detail=True, methods=["post"], url_path="pathway")
    def pathway(self, request, pk=None):
        """Confirm the suggested pathway, or override it with a reason."""
        patient = get_object_or_404(Patient, pk=pk)
        ser = PathwayDecisionInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.pathway_decide(patient=patient, actor=request.user, **ser.validated_data)
        return Response(self.get_serializer(selectors.patient_get(patient.pk)).data)
