"""Patients API (docs/product.md §4): create, search, read, pathway decision. The intake
endpoint (POST /api/patients/{id}/intake/) composes several apps: clinic/api.py."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from ipm import roles
from ipm.api import CappedPagination, ErrorSerializer
from ipm.audit import AuditedReadMixin
from ipm.roles import HasRole

from . import selectors, services
from .filters import PatientFilter
from .models import Pathway, Patient, Site
from .scoping import visible


class VisiblePatientField(serializers.PrimaryKeyRelatedField):
    """A patient id the requesting person may see (their sites'): another site's patient is
    "does not exist", exactly like an unknown id."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Patient.objects.all())
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        return visible(Patient.objects.all(), getattr(request, "user", None), "")


class PatientSerializer(serializers.ModelSerializer):
    flags = serializers.ListField(child=serializers.CharField(), read_only=True,
                                  help_text="red_flag, not_improving, responder, mme_50, mme_90, "
                                            "stopped_reminders, open_safety_alert")
    preferred_channel = serializers.ChoiceField(choices=Patient.Channel.choices, required=False)
    consent_to_contact = serializers.BooleanField(required=False, default=False)
    timezone = serializers.CharField(required=False, help_text="IANA time zone, e.g. Europe/London; defaults to the program's.")
    risk_group = serializers.CharField(read_only=True, allow_blank=True, allow_null=True)
    pathway = serializers.CharField(read_only=True, allow_blank=True, allow_null=True)
    site = serializers.PrimaryKeyRelatedField(
        queryset=Site.objects.all(), required=False,
        help_text="Default: the creator's site when they work at exactly one.")
    clinician = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False, allow_null=True,
        help_text="The responsible clinician (user id). Default: the clinician creating the "
                  "patient; a coordinator must choose one.")
    care_manager = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False, allow_null=True,
        help_text="A clinician or coordinator (user id).")

    class Meta:
        model = Patient
        fields = ["id", "mrn", "given_name", "family_name", "birth_date", "sex", "email",
                  "phone", "preferred_channel", "consent_to_contact", "timezone", "site",
                  "clinician", "care_manager", "step", "intake_date", "risk_group", "pathway",
                  "flags", "baseline_mme", "current_mme", "created_at"]
        read_only_fields = ["id", "step", "intake_date", "baseline_mme", "current_mme",
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
                  "create": "patient.register", "partial_update": "patient.care_team",
                  "pathway": "patient.pathway"}
    filterset_class = PatientFilter
    pagination_class = CappedPagination
    audit_object_type = "patients.patient"
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.patient_list(user=self.request.user)

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
        return Response(self.get_serializer(selectors.patient_get(patient.pk, request.user)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: PatientSerializer, 400: ErrorSerializer, 403: ErrorSerializer,
                              409: ErrorSerializer})
    def partial_update(self, request, *args, **kwargs):
        """Change the care team (`site`, `clinician`, `care_manager`: clinicians and
        coordinators, as on the patient page) and/or demographics (clinicians, who register
        patients)."""
        body = request.data if isinstance(request.data, dict) else {}
        if set(body) - set(services.CARE_TEAM_FIELDS) and not roles.can(request.user,
                                                                       "patient.register"):
            raise PermissionDenied("Only a clinician changes a patient's details; you may "
                                   "change the care team (site, clinician, care_manager).")
        patient = self.get_object()
        ser = self.get_serializer(patient, data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        services.patient_update(patient=patient, actor=request.user, **ser.validated_data)
        return Response(self.get_serializer(selectors.patient_get(patient.pk, request.user)).data)

    @extend_schema(request=PathwayDecisionInputSerializer,
                   responses={200: PatientSerializer, 400: ErrorSerializer})
    @action(detail=True, methods=["post"], url_path="pathway")
    def pathway(self, request, pk=None):
        """Confirm the suggested pathway, or override it with a reason."""
        patient = get_object_or_404(visible(Patient.objects.all(), request.user, ""), pk=pk)
        ser = PathwayDecisionInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.pathway_decide(patient=patient, actor=request.user, **ser.validated_data)
        return Response(self.get_serializer(selectors.patient_get(patient.pk, request.user)).data)
